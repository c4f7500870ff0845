"""The image writer: everything about OCI and Docker images that is not LLB.

writer.py (`write_image`, the one entry every image goes through) over layers.py (the layer
tar), image.py (config, manifest, index), deliver.py + archives.py (the oci/docker archive,
or a push), layout.py (reading an archive back); pull.py, push.py and registry/ (the registry
client), cache.py (the blob cache), baselayers.py (a base image's layers read as a tree),
fstree.py (an image's files), deflate.py (gzip). Imports neither pun.solve nor the core.
"""
