package repl

import "strings"

// option is one parsed command-line option.
type option struct {
	name string // "p", "8", "16", ...
	val  string // the argument of an option that takes one
}

// getopt parses crash-style options: single-letter flags that may be
// grouped (-px), letters in withArg that take a value (attached, -o8, or
// the next word), and whole words in long (-16, -32, -64). Options and
// operands may be mixed, as GNU getopt allows; "--" ends the options. An
// argument that looks like a negative number is an operand.
func getopt(args []string, flags, withArg string, long ...string) (opts []option, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' || a[1] >= '0' && a[1] <= '9' && !isLong(a, long) {
			rest = append(rest, a)
			continue
		}
		if isLong(a, long) {
			opts = append(opts, option{name: a[1:]})
			continue
		}
		for j := 1; j < len(a); j++ {
			ch := a[j]
			switch {
			case strings.IndexByte(withArg, ch) >= 0:
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return nil, nil, usagef("option -%c needs an argument", ch)
					}
					i++
					val = args[i]
				}
				opts = append(opts, option{name: string(ch), val: val})
				j = len(a)
			case strings.IndexByte(flags, ch) >= 0:
				opts = append(opts, option{name: string(ch)})
			default:
				return nil, nil, usagef("invalid option -- '%c'", ch)
			}
		}
	}
	return opts, rest, nil
}

func isLong(a string, long []string) bool {
	for _, l := range long {
		if a == l {
			return true
		}
	}
	return false
}
