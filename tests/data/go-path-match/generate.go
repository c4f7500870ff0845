// Records Go's path.Match on random patterns and names, as JSON lines:
// {"pattern": ..., "name": ..., "match": true|false|null} (null: ErrBadPattern).
// Run: go run generate.go > cases.jsonl (the seed is fixed, so the output is too).
package main

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path"
)

var patternAlphabet = []string{"a", "b", "c", "/", "*", "?", "[", "]", "^", "!", "-", `\`, "é", "€", "."}
var nameAlphabet = []string{"a", "b", "c", "/", "*", "?", "[", "]", "!", "-", `\`, "é", "€", "."}

func pick(r *rand.Rand, alphabet []string, max int) string {
	n := r.Intn(max + 1)
	s := ""
	for i := 0; i < n; i++ {
		s += alphabet[r.Intn(len(alphabet))]
	}
	return s
}

func main() {
	r := rand.New(rand.NewSource(9))
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	for i := 0; i < 4000; i++ {
		pattern := pick(r, patternAlphabet, 7)
		name := pick(r, nameAlphabet, 6)
		if i%2 == 0 && len(pattern) > 0 {
			// Half the names are derived from the pattern, so that matches are common.
			name = ""
			for _, c := range pattern {
				switch c {
				case '*':
					name += pick(r, nameAlphabet, 2)
				case '?', '[', ']', '^', '\\':
					name += nameAlphabet[r.Intn(len(nameAlphabet))]
				default:
					name += string(c)
				}
			}
		}
		matched, err := path.Match(pattern, name)
		var result interface{} = matched
		if err != nil {
			if err != path.ErrBadPattern {
				panic(err)
			}
			result = nil
		}
		if err := out.Encode(map[string]interface{}{"pattern": pattern, "name": name, "match": result}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
