// Package fleet triages crash dumps across many machines: jobs (a dump's
// files, and optionally its vmlinux) go into a NATS JetStream work queue,
// any number of workers on any number of machines take them one at a
// time, run triage.Open, and publish each report to a results stream,
// from which Collect reads them back as the records `vmcore triage -json`
// prints (vmcore.triage/1, or vmcore.error/1 for a dump that cannot be
// read).
//
// The engine is NATS JetStream, not a scheduler of this project's own:
// the work queue hands each job to one worker, redelivers it when a
// worker dies before acknowledging it (AckWait, with InProgress
// heartbeats while a large dump is read), gives up after MaxDeliver
// attempts, and deduplicates jobs and results by ID. Workers need to
// reach the dumps by the paths in the jobs (a shared file system or a
// mount of the object store the dumps are collected in).
//
// This is a Go module of its own (github.com/vmcoretools/vmcore/fleet), so
// that the vmcore binary's dependencies do not grow. Its command is
// cmd/vmcore-fleet; its tests run an embedded NATS server.
package fleet
