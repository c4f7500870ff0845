"""bunnyfile input: bunny's YAML packaging file, read into the same PackPlan as a Containerfile.

- `yamlnodes`: YAML text -> nodes that know their line; bad YAML is one PunError (file:line).
- `fields`: the bunnyfile's fields, read and checked as bunny reads them (`hops/parse_file.go`,
  `hops/validate.go`, `hops/package.go` of nubificus/bunny).
- `toplan`: the fields -> PackPlan (base, copies, rootfs artifact, urunc labels, config), by
  bunny's rules (`hops/package.go` `ToPack`, `SetBaseAndGetPaths`, `SetAnnotations`).
- `read`: whether a file that is no Containerfile is a bunnyfile (bunny's order), and its plan.

Nothing here is imported for a Containerfile: `pun.api.read_plan` comes here only when the
Containerfile parser has refused the text.
"""
