// Package kdumpfmt reads and writes the dump formats of makedumpfile: the
// compressed kdump format (signature "KDUMP   "), the older diskdump format
// ("DISKDUMP"), their flattened form (makedumpfile -F, a stream of
// offset/size records meant for pipes) and split sets (makedumpfile --split,
// several files that each hold a range of page frames).
//
// A dump in these formats is a header, a sub-header holding ELF notes,
// VMCOREINFO and eraseinfo, two bitmaps over page frame numbers (the first
// says which frames are RAM, the second which of them were dumped), one page
// descriptor per dumped frame, and the page data, each page stored raw or
// compressed with zlib, lzo, snappy or zstd. The reader builds a rank index
// over the second bitmap when it opens a dump, so finding the descriptor of
// a frame costs a few popcounts, never a scan; opening costs the headers and
// the bitmaps, never the pages.
//
// Pages a dump cannot supply are reported with *physmem.Error, whose Kind
// tells a hole in RAM (NotInDump) from a page that the dump level filtered
// out (Excluded), from a page that an interrupted capture never wrote (Lost)
// and from an address past the end of memory (BeyondEnd).
//
// The writer produces version 6 dumps from any Source (another kdump file,
// an ELF core, synthetic test memory), with any of the four compressions or
// none, plain or flattened, in a form that makedumpfile and crash read.
//
// The package knows file formats only, nothing of the kernel: it hands the
// notes and VMCOREINFO to the layers above as bytes.
package kdumpfmt
