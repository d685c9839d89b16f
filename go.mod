module github.com/dropin/nsq

go 1.26.8

require github.com/julienschmidt/httprouter v1.3.0

require github.com/BurntSushi/toml v1.6.0 // indirect
