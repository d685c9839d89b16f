package refdiff

func init() {
	// issue 11 (replay): every topic of /stats says its storage mode
	allowPattern("TestNSQD", `topics\[\d+\]: keys only in our \[storage\]$`, "a topic's storage mode (diskqueue or log) is ours")
}
