package main

import "syscall"

// childAttr makes a child get SIGTERM when this process dies, so daemons
// on the fixed ports do not outlive a killed run.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} }
