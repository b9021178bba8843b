package containerinit

import (
	"errors"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-runtime/skiff/libct/console"
)

func setupConsole(fd int, size *specs.Box, bindConsole bool, uid int) error {
	if fd < 0 {
		return errors.New("process.terminal is true but no console socket was passed")
	}
	sock := os.NewFile(uintptr(fd), "console-socket")
	defer sock.Close()
	return console.Setup(sock, size, bindConsole, uid)
}
