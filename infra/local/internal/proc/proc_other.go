//go:build !linux

package proc

import "syscall"

// Attr puts a child in a process group of its own so its whole group can be
// signalled. (Pdeathsig exists on Linux only.)
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
