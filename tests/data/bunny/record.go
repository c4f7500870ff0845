// Records what bunny itself makes of a bunnyfile (tests/data/bunny/README.md): copy this file
// into a bunny checkout as cmd/record/main.go and `go run ./cmd/record <bunnyfile>`.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"bunny/hops"
)

func main() {
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	h, err := hops.ParseBunnyfile(data)
	if err != nil {
		out, _ := json.MarshalIndent(map[string]string{"error": err.Error()}, "", "  ")
		fmt.Println(string(out))
		os.Exit(1)
	}
	p, err := hops.ToPack(h, "context")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	copies := [][2]string{}
	for _, c := range p.Copies {
		copies = append(copies, [2]string{c.SrcPath, c.DstPath})
	}
	out, _ := json.MarshalIndent(map[string]any{
		"annotations": p.Annots, "base": p.BaseRef, "copies": copies,
		"cmd": p.Img.Config.Cmd, "entrypoint": p.Img.Config.Entrypoint, "env": p.Img.Config.Env,
	}, "", "  ")
	fmt.Println(string(out))
}
