package repl

import "testing"

func TestLabTaskGroup(t *testing.T) {
	n := compareCrashGroup(t, "task", taskGroupKnown)
	t.Logf("%d outputs compared", n)
}

var taskGroupKnown = []groupDiff{
	{Cmd: "task -R nosuch 1", Why: "crash prints \"task: nosuch: not a task_struct or thread_info member\" on its console only, not into the redirected output; ours goes to stderr, which this test merges with the output"},
}
