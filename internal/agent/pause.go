package agent

import (
	"archive/tar"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"slices"
	"syscall"
)

// A task in awsvpc network mode keeps its network namespace in a pause
// container, which its containers join, as the ECS agent's pause container
// does. Berth needs no image for it from a registry: the pause process is
// the agent's own executable, run under the name berth-pause. The image
// holds that executable (and, when it is dynamically linked, its loader
// and libraries), and is made on the host the first time a task needs it.

// pauseCommand is the name under which the executable is the pause
// process: the image's entrypoint is /berth-pause.
const pauseCommand = "berth-pause"

// init turns the process into the pause process when it was started as
// berth-pause: whatever program the package is linked into (berth, or a
// test binary of the agent) then only waits for SIGTERM or SIGINT and
// exits 0, before any of that program's own code runs. As PID 1 of its
// container it must handle the signals itself: the kernel drops signals
// PID 1 has no handler for.
func init() {
	if filepath.Base(os.Args[0]) != pauseCommand {
		return
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	os.Exit(0)
}

// pauseImageRef names the pause image of the executable exe by its
// content, so that each build of Berth makes its own once.
func pauseImageRef(exe string) (string, error) {
	f, err := os.Open(exe)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "berth-pause:" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

// pauseChanges configure the pause image.
var pauseChanges = []string{`ENTRYPOINT ["/` + pauseCommand + `"]`}

// pauseFiles maps the pause image's files to the host files they are
// copied from: exe as /berth-pause and, when exe is dynamically linked,
// its program interpreter and the shared libraries it needs, found as
// the dynamic loader finds them, at their own paths.
func pauseFiles(exe string) (map[string]string, error) {
	files := map[string]string{"/" + pauseCommand: exe}
	f, err := elf.Open(exe)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", exe, err)
	}
	defer f.Close()
	interp := ""
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b, err := io.ReadAll(p.Open())
		if err != nil {
			return nil, fmt.Errorf("%s: interpreter: %w", exe, err)
		}
		if i := slices.Index(b, 0); i >= 0 {
			b = b[:i]
		}
		interp = string(b)
	}
	if interp == "" {
		return files, nil // static: the executable is all
	}
	files[interp] = interp
	dirs := libraryDirs(f.Machine)
	queue := []*elf.File{f}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		needed, err := next.ImportedLibraries()
		if err != nil {
			return nil, fmt.Errorf("%s: needed libraries: %w", exe, err)
		}
		for _, name := range needed {
			lib, libFile, err := findLibrary(name, dirs, f)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", exe, err)
			}
			if _, seen := files[lib]; seen {
				libFile.Close()
				continue
			}
			files[lib] = lib
			defer libFile.Close()
			queue = append(queue, libFile)
		}
	}
	return files, nil
}

// libraryDirs are the standard directories the dynamic loader searches
// for a machine's libraries.
func libraryDirs(m elf.Machine) []string {
	var multiarch string
	switch m {
	case elf.EM_X86_64:
		multiarch = "x86_64-linux-gnu"
	case elf.EM_AARCH64:
		multiarch = "aarch64-linux-gnu"
	}
	var dirs []string
	if multiarch != "" {
		dirs = append(dirs, "/lib/"+multiarch, "/usr/lib/"+multiarch)
	}
	return append(dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib")
}

// findLibrary finds the library name of the same class and machine as
// exe in dirs, and opens it.
func findLibrary(name string, dirs []string, exe *elf.File) (string, *elf.File, error) {
	candidates := []string{name}
	if !path.IsAbs(name) {
		candidates = candidates[:0]
		for _, d := range dirs {
			candidates = append(candidates, path.Join(d, name))
		}
	}
	for _, c := range candidates {
		lf, err := elf.Open(c)
		if err != nil {
			continue
		}
		if lf.Class == exe.Class && lf.Machine == exe.Machine {
			return c, lf, nil
		}
		lf.Close()
	}
	return "", nil, fmt.Errorf("library %s not found in %v", name, dirs)
}

// writePauseRootfs writes the pause image's root file system, files (see
// pauseFiles) as regular files with their parent directories, as a tar
// stream.
func writePauseRootfs(w io.Writer, files map[string]string) error {
	tw := tar.NewWriter(w)
	dirs := map[string]bool{"/": true}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		var parents []string
		for d := path.Dir(p); !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			parents = append(parents, d)
		}
		slices.Reverse(parents)
		for _, d := range parents {
			if err := tw.WriteHeader(&tar.Header{Name: d[1:] + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
				return err
			}
		}
		if err := writeTarFile(tw, p[1:], files[p]); err != nil {
			return err
		}
	}
	return tw.Close()
}

// writeTarFile adds the host file src (symbolic links followed) as name.
func writeTarFile(tw *tar.Writer, name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o755, Size: fi.Size()}); err != nil {
		return err
	}
	_, err = io.CopyN(tw, f, fi.Size())
	return err
}
