// BuildKit v0.32.2's Dockerfile parser as a test oracle for pun.containerfile.splitter
// (tests/python/pun/containerfile/test_splitter.py): reads one JSON string (a Containerfile)
// per line on stdin, writes one JSON answer per line: the instructions in the shape of the
// PyPI `dockerfile` package (asottile/dockerfile parse.go), or the parse error.
// Build: build-support/build-parser-oracle
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

type heredoc struct {
	Name    string `json:"name"`
	Fd      uint   `json:"file_descriptor"`
	Chomp   bool   `json:"chomp"`
	Expand  bool   `json:"expand"`
	Content string `json:"content"`
}
type command struct {
	Cmd, SubCmd, Original string
	Json                  bool
	StartLine, EndLine    int
	Flags, Value          []string
	Heredocs              []heredoc
}
type result struct {
	Commands []command `json:"commands"`
	Escape   string    `json:"escape"`
	Error    *string   `json:"error"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var text string
		if err := json.Unmarshal(in.Bytes(), &text); err != nil {
			panic(err)
		}
		res, err := parser.Parse(strings.NewReader(text))
		r := result{Commands: []command{}}
		if err != nil {
			s := err.Error()
			r.Error = &s
		} else {
			r.Escape = string(res.EscapeToken)
			for _, child := range res.AST.Children {
				c := command{Cmd: child.Value, Original: child.Original, StartLine: child.StartLine, EndLine: child.EndLine, Flags: child.Flags}
				if c.Flags == nil {
					c.Flags = []string{}
				}
				if child.Next != nil && len(child.Next.Children) > 0 {
					child = child.Next.Children[0]
					c.SubCmd = child.Value
				}
				c.Json = child.Attributes["json"]
				c.Value = []string{}
				for n := child.Next; n != nil; n = n.Next {
					c.Value = append(c.Value, n.Value)
				}
				c.Heredocs = []heredoc{}
				for _, h := range child.Heredocs {
					c.Heredocs = append(c.Heredocs, heredoc{h.Name, h.FileDescriptor, h.Chomp, h.Expand, h.Content})
				}
				r.Commands = append(r.Commands, c)
			}
		}
		out.Encode(r)
	}
}
