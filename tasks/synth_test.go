package tasks

import (
	"debug/dwarf"
	"encoding/binary"

	"github.com/vmcoretools/vmcore/internal/fakekernel"
	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/value"
)

// This file builds a synthetic kernel for the views' tests: a type source
// serving hand-made dwarf.Types with the members the views read (at
// offsets of the test's choosing: the views take them from the types),
// sparse memory, and a bump allocator to lay structures out in it.

var (
	sU16  = &dwarf.UintType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 2, Name: "short unsigned int"}}}
	sU32  = &dwarf.UintType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 4, Name: "unsigned int"}}}
	sI32  = &dwarf.IntType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 4, Name: "int"}}}
	sU64  = &dwarf.UintType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 8, Name: "long unsigned int"}}}
	sChar = &dwarf.UintType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 1, Name: "unsigned char"}}}
	sVoid = &dwarf.VoidType{}
)

func sPtr(t dwarf.Type) *dwarf.PtrType {
	return &dwarf.PtrType{CommonType: dwarf.CommonType{ByteSize: 8}, Type: t}
}

func sArray(t dwarf.Type, n int64) *dwarf.ArrayType {
	return &dwarf.ArrayType{CommonType: dwarf.CommonType{ByteSize: n * t.Size()}, Type: t, Count: n}
}

type sField struct {
	name string
	off  int64
	t    dwarf.Type
}

func sStruct(name string, size int64, fields ...sField) *dwarf.StructType {
	st := &dwarf.StructType{Kind: "struct", StructName: name, CommonType: dwarf.CommonType{ByteSize: size}}
	for _, f := range fields {
		st.Field = append(st.Field, &dwarf.StructField{Name: f.name, Type: f.t, ByteOffset: f.off})
	}
	return st
}

// synthTypes are the structures files, sig, vm and ps -r read.
func synthTypes() map[string]dwarf.Type {
	listHead := sStruct("list_head", 16)
	listHead.Field = []*dwarf.StructField{{Name: "next", Type: sPtr(listHead)}, {Name: "prev", Type: sPtr(listHead), ByteOffset: 8}}
	inode := sStruct("inode", 8, sField{"i_mode", 0, sU16})
	qstr := sStruct("qstr", 16, sField{"hash", 0, sU32}, sField{"len", 4, sU32}, sField{"name", 8, sPtr(sChar)})
	dentry := sStruct("dentry", 32)
	dentry.Field = []*dwarf.StructField{{Name: "d_parent", Type: sPtr(dentry)}, {Name: "d_name", Type: qstr, ByteOffset: 8},
		{Name: "d_inode", Type: sPtr(inode), ByteOffset: 24}}
	vfsmount := sStruct("vfsmount", 16, sField{"mnt_root", 0, sPtr(dentry)}, sField{"mnt_flags", 8, sU64})
	mount := sStruct("mount", 40)
	mount.Field = []*dwarf.StructField{{Name: "mnt_parent", Type: sPtr(mount)}, {Name: "mnt_mountpoint", Type: sPtr(dentry), ByteOffset: 8},
		{Name: "mnt", Type: vfsmount, ByteOffset: 16}, {Name: "mnt_devname", Type: sPtr(sChar), ByteOffset: 32}}
	path := sStruct("path", 16, sField{"mnt", 0, sPtr(vfsmount)}, sField{"dentry", 8, sPtr(dentry)})
	fsStruct := sStruct("fs_struct", 40, sField{"users", 0, sU64}, sField{"root", 8, path}, sField{"pwd", 24, path})
	file := sStruct("file", 24, sField{"f_flags", 0, sU64}, sField{"f_path", 8, path})
	fdtable := sStruct("fdtable", 24, sField{"max_fds", 0, sU32}, sField{"fd", 8, sPtr(sPtr(file))}, sField{"open_fds", 16, sPtr(sU64)})
	files := sStruct("files_struct", 16, sField{"count", 0, sU64}, sField{"fdt", 8, sPtr(fdtable)})
	sigset := sStruct("sigset_t", 8, sField{"sig", 0, sArray(sU64, 1)})
	sigaction := sStruct("sigaction", 32, sField{"sa_handler", 0, sPtr(sVoid)}, sField{"sa_flags", 8, sU64},
		sField{"sa_restorer", 16, sPtr(sVoid)}, sField{"sa_mask", 24, sigset})
	kSigaction := sStruct("k_sigaction", 32, sField{"sa", 0, sigaction})
	sighand := sStruct("sighand_struct", 8+64*32, sField{"count", 0, sU64}, sField{"action", 8, sArray(kSigaction, 64)})
	sigpending := sStruct("sigpending", 24, sField{"list", 0, listHead}, sField{"signal", 16, sigset})
	siginfo := sStruct("kernel_siginfo", 48, sField{"si_signo", 0, sI32}, sField{"si_errno", 4, sI32}, sField{"si_code", 8, sI32})
	sigqueue := sStruct("sigqueue", 72, sField{"list", 0, listHead}, sField{"flags", 16, sI32}, sField{"info", 24, siginfo})
	rlimit := sStruct("rlimit", 16, sField{"rlim_cur", 0, sU64}, sField{"rlim_max", 8, sU64})
	signal := sStruct("signal_struct", 32+16*16, sField{"nr_threads", 0, sI32}, sField{"shared_pending", 8, sigpending},
		sField{"rlim", 32, sArray(rlimit, 16)})
	threadInfo := sStruct("thread_info", 8, sField{"flags", 0, sU64})
	vma := sStruct("vm_area_struct", 40)
	vma.Field = []*dwarf.StructField{{Name: "vm_start", Type: sU64}, {Name: "vm_end", Type: sU64, ByteOffset: 8},
		{Name: "vm_next", Type: sPtr(vma), ByteOffset: 16}, {Name: "vm_flags", Type: sU64, ByteOffset: 24},
		{Name: "vm_file", Type: sPtr(file), ByteOffset: 32}}
	mm := sStruct("mm_struct", 64, sField{"pgd", 0, sPtr(sVoid)}, sField{"mmap", 8, sPtr(vma)}, sField{"total_vm", 16, sU64},
		sField{"arg_start", 24, sU64}, sField{"arg_end", 32, sU64}, sField{"env_start", 40, sU64}, sField{"env_end", 48, sU64})
	task := sStruct("task_struct", 112, sField{"thread_info", 0, threadInfo}, sField{"fs", 8, sPtr(fsStruct)},
		sField{"files", 16, sPtr(files)}, sField{"signal", 24, sPtr(signal)}, sField{"sighand", 32, sPtr(sighand)},
		sField{"blocked", 40, sigset}, sField{"pending", 48, sigpending}, sField{"mm", 72, sPtr(mm)})
	ts := map[string]dwarf.Type{}
	for _, t := range []*dwarf.StructType{listHead, inode, qstr, dentry, vfsmount, mount, path, fsStruct, file, fdtable, files,
		sigset, sigaction, kSigaction, sighand, sigpending, siginfo, sigqueue, rlimit, signal, threadInfo, vma, mm, task} {
		ts["struct "+t.StructName] = t
	}
	return ts
}

// The synthetic kernel's type source and memory are package fakekernel's;
// this file lays out the types by hand.

// errSynthUnmapped is the error of a read of memory never written.
var errSynthUnmapped = fakekernel.ErrUnmapped

// synthKernel is a synthetic kernel: types, memory and an allocator.
type synthKernel struct {
	src   *fakekernel.Kernel
	mem   fakekernel.Memory
	next  uint64
	c     *value.Context
	types map[string]dwarf.Type
}

const synthBase = 0xffff888100000000

func newSynthKernel() *synthKernel {
	ts := synthTypes()
	k := &synthKernel{src: &fakekernel.Kernel{Types: ts, Vars: map[string]*ktype.Variable{}}, mem: fakekernel.Memory{}, next: synthBase, types: ts}
	k.c = value.New(k.src, k.mem)
	return k
}

// alloc returns zeroed, mapped memory of size bytes, 64-byte aligned.
func (k *synthKernel) alloc(size int64) uint64 {
	a := k.next
	k.mem.Write(a, make([]byte, size))
	k.next += (uint64(size) + 63) &^ 63
	return a
}

// object allocates a struct of the named type.
func (k *synthKernel) object(typ string) uint64 { return k.alloc(k.types["struct "+typ].Size()) }

// off is the offset of a member path of struct typ.
func (k *synthKernel) off(typ, path string) uint64 {
	o, err := ktype.Offset(k.src, "struct "+typ, path)
	if err != nil {
		panic(err)
	}
	return uint64(o)
}

// set writes an integer member (its size from the type) of the struct
// typ at addr.
func (k *synthKernel) set(typ string, addr uint64, path string, v uint64) {
	m, err := ktype.MemberOf(k.src, "struct "+typ, path)
	if err != nil {
		panic(err)
	}
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, v)
	k.mem.Write(addr+uint64(m.Offset), b[:m.Type.Size()])
}

func (k *synthKernel) u64(addr, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	k.mem.Write(addr, b[:])
}

// str allocates a NUL-terminated string.
func (k *synthKernel) str(s string) uint64 {
	a := k.alloc(int64(len(s) + 1))
	k.mem.Write(a, []byte(s))
	return a
}

// dentry makes a dentry named name under parent (itself when 0), with
// inode (0: none).
func (k *synthKernel) dentry(name string, parent, inode uint64) uint64 {
	d := k.object("dentry")
	if parent == 0 {
		parent = d
	}
	k.set("dentry", d, "d_parent", parent)
	k.set("dentry", d, "d_name.len", uint64(len(name)))
	k.set("dentry", d, "d_name.name", k.str(name))
	k.set("dentry", d, "d_inode", inode)
	return d
}

// mount makes a struct mount of devname mounted on mountpoint in parent
// (itself when 0), rooted at root; it returns the embedded vfsmount.
func (k *synthKernel) mount(devname string, parent, mountpoint, root uint64) uint64 {
	m := k.object("mount")
	if parent == 0 {
		parent = m
	} else {
		parent -= k.off("mount", "mnt") // given as the parent's vfsmount
	}
	k.set("mount", m, "mnt_parent", parent)
	k.set("mount", m, "mnt_mountpoint", mountpoint)
	k.set("mount", m, "mnt.mnt_root", root)
	k.set("mount", m, "mnt_devname", k.str(devname))
	return m + k.off("mount", "mnt")
}

func (k *synthKernel) inode(mode uint64) uint64 {
	in := k.object("inode")
	k.set("inode", in, "i_mode", mode)
	return in
}

// file makes a struct file of dentry on vfsmount mnt.
func (k *synthKernel) file(dentry, mnt uint64) uint64 {
	f := k.object("file")
	k.set("file", f, "f_path.dentry", dentry)
	k.set("file", f, "f_path.mnt", mnt)
	return f
}
