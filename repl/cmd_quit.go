package repl

func init() {
	register(&Command{
		Name:    "q",
		Aliases: []string{"exit", "quit"},
		Summary: "exit this session",
		Help:    "Ends the session. Ctrl-D at an empty prompt does the same.",
		Run:     func(*Context, []string) error { return errQuit },
	})
}
