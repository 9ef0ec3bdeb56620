/* A tiny kernel-like program for dwarfsym and value tests. Built by
 * gen.sh into tiny.elf (x86_64, DWARF 5, no libc). */
typedef unsigned long u64;
typedef int pid_t;

struct list_head {
	struct list_head *next, *prev;
};

enum state { RUNNING = 0, SLEEPING = 1, STOPPED = 4 };

struct flags {
	unsigned int a : 1;
	unsigned int b : 3;
	unsigned int c : 12;
	int d : 4;
	unsigned char tail;
};

struct task {
	long state;
	pid_t pid;
	char comm[16];
	struct list_head tasks;
	struct flags fl;
	union {
		u64 raw;
		struct {
			unsigned int lo;
			unsigned int hi;
		};
	};
	enum state st;
	struct task *parent;
	void (*fn)(struct task *, int);
	int matrix[2][3];
	const char *name;
};

struct task init_task = {
	.state = 0,
	.pid = 0,
	.comm = "swapper/0",
	.fl = { .a = 1, .b = 5, .c = 0xabc, .d = -3, .tail = 7 },
	.raw = 0x1122334455667788UL,
	.st = SLEEPING,
	.matrix = { { 1, 2, 3 }, { 4, 5, 6 } },
	.name = "init",
};

struct task second_task = {
	.pid = 42,
	.comm = "kworker/0:1",
	.st = STOPPED,
	.parent = &init_task,
};

__attribute__((section(".data..percpu"))) long runqueue_len = 3;
__attribute__((section(".data..percpu"))) struct task *current_task;

const char linux_banner[] = "Linux version 6.1.0-tiny (gen.sh) #1 SMP\n";

static inline __attribute__((always_inline)) int add_twice(int x)
{
	return x + x + init_task.pid;
}

void task_fn(struct task *t, int v)
{
	t->pid = add_twice(v);
}

int _start(void)
{
	init_task.tasks.next = &second_task.tasks;
	init_task.tasks.prev = &second_task.tasks;
	second_task.tasks.next = &init_task.tasks;
	second_task.tasks.prev = &init_task.tasks;
	init_task.fn = task_fn;
	task_fn(&second_task, 3);
	return add_twice(second_task.pid);
}

/* Declared without a size, then defined with one in the same unit: GCC
 * emits a named declaration and an unnamed definition that points to it. */
extern struct list_head waitqueues[];
struct list_head waitqueues[4];
