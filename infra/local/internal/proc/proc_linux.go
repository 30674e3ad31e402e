// Package proc holds the process attributes of the local stack's children.
package proc

import "syscall"

// Attr puts a child in a process group of its own (so its whole group can
// be signalled) and has the kernel kill it when the parent dies.
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
