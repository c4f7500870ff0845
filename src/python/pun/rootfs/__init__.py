"""Rootfs artifacts pun makes itself: an initrd (newc cpio, optionally gzip) or a block image
(ext4/ext2) built from files, for `PackPlan.rootfs` (bunnyfile `rootfs`, or a Containerfile's
`pun.rootfs` label). The artifact is made client-side, deterministically, into a directory
that every builder receives as the extra local source `pun-rootfs` (see pun.convert)."""
