"""`pun run`: boot an image archive on this host the way urunc would."""
