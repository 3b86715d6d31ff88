package ec2

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// ECSConfigFile is where the ECS-optimized AMI's agent reads its settings.
const ECSConfigFile = "/etc/ecs/ecs.config"

// ECSConfig reads an instance's user data (base64, as RunInstances takes
// it, or raw) the way the ECS-optimized AMI ends up reading it: as the
// KEY=VALUE lines the user data writes to /etc/ecs/ecs.config. Berth does
// not run the script; it understands the forms ECS set-ups use:
//
//   - shell lines `echo KEY=VALUE >> /etc/ecs/ecs.config` (quoted or not,
//     `>` truncating), `echo ... | [sudo] tee [-a] /etc/ecs/ecs.config`,
//     and `printf` with `\n`-separated lines;
//   - heredocs into the file: `cat <<EOF >> /etc/ecs/ecs.config` or
//     `cat >> /etc/ecs/ecs.config <<'EOF'` up to the terminator;
//   - $VAR and ${VAR} of plain `VAR=value` assignments earlier in the script;
//   - #cloud-config `write_files` entries for the file, and `runcmd` lines
//     of the forms above;
//   - MIME multi-part user data, each part as the forms above.
//
// Lines it does not understand are skipped; settings not written this way
// keep the agent's defaults (the cluster "default"), as on EC2.
func ECSConfig(userData string) map[string]string {
	raw := []byte(userData)
	if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(userData)); err == nil {
		raw = dec
	}
	cfg := map[string]string{}
	readUserData(raw, cfg)
	return cfg
}

func readUserData(raw []byte, cfg map[string]string) {
	text := string(raw)
	switch {
	case strings.HasPrefix(text, "Content-Type:") || strings.HasPrefix(text, "MIME-Version:"):
		readMultipart(raw, cfg)
	case strings.HasPrefix(text, "#cloud-config"):
		readCloudConfig(raw, cfg)
	default:
		readScript(text, cfg)
	}
}

func readMultipart(raw []byte, cfg map[string]string) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := r.NextPart()
		if err != nil {
			return
		}
		body, err := io.ReadAll(io.LimitReader(part, 16<<10))
		if err != nil {
			return
		}
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
			if dec, err := base64.StdEncoding.DecodeString(string(body)); err == nil {
				body = dec
			}
		}
		mt, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch mt {
		case "text/cloud-config":
			readCloudConfig(body, cfg)
		default:
			readUserData(body, cfg)
		}
	}
}

func readCloudConfig(raw []byte, cfg map[string]string) {
	var doc struct {
		WriteFiles []struct {
			Path    string `json:"path"`
			Content string `json:"content"`
			Append  bool   `json:"append"`
		} `json:"write_files"`
		Runcmd []any `json:"runcmd"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return
	}
	for _, f := range doc.WriteFiles {
		if f.Path != ECSConfigFile {
			continue
		}
		if !f.Append {
			clear(cfg)
		}
		readSettings(f.Content, cfg)
	}
	var script strings.Builder
	for _, c := range doc.Runcmd {
		switch c := c.(type) {
		case string:
			script.WriteString(c + "\n")
		case []any:
			var words []string
			for _, w := range c {
				if s, ok := w.(string); ok {
					words = append(words, s)
				}
			}
			script.WriteString(strings.Join(words, " ") + "\n")
		}
	}
	readScript(script.String(), cfg)
}

var (
	assignRE  = regexp.MustCompile(`^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)
	settingRE = regexp.MustCompile(`^([A-Z][A-Z0-9_]*)=(.*)$`)
	varRE     = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)
	heredocRE = regexp.MustCompile(`<<-?\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?`)
	// redirectRE finds a write to the file: "> file", ">> file" or "tee [-a] file".
	redirectRE = regexp.MustCompile(`(>>?|tee(?:\s+-a|\s+--append)?)\s*["']?` + regexp.QuoteMeta(ECSConfigFile) + `["']?`)
)

func readScript(text string, cfg map[string]string) {
	vars := map[string]string{}
	expand := func(s string) string {
		return varRE.ReplaceAllStringFunc(s, func(m string) string {
			name := strings.Trim(m, "${}")
			return vars[name]
		})
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		redirect := redirectRE.FindStringSubmatch(line)
		if redirect == nil {
			if m := assignRE.FindStringSubmatch(line); m != nil && !strings.ContainsAny(m[2], "`;|&") {
				vars[m[1]] = unquote(expand(m[2]))
			}
			continue
		}
		truncate := redirect[1] == ">" || redirect[1] == "tee"
		if hd := heredocRE.FindStringSubmatch(line); hd != nil {
			var body strings.Builder
			for sc.Scan() {
				l := sc.Text()
				if strings.TrimSpace(l) == hd[1] {
					break
				}
				body.WriteString(l + "\n")
			}
			if truncate {
				clear(cfg)
			}
			content := body.String()
			if !strings.Contains(hd[0], "'") && !strings.Contains(hd[0], `"`) {
				content = expand(content)
			}
			readSettings(content, cfg)
			continue
		}
		// echo/printf: the words before the pipe or redirect.
		head := line[:strings.Index(line, redirect[0])]
		head = strings.TrimRight(strings.TrimSpace(head), "|")
		head = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(head), "sudo"))
		head = strings.TrimRight(strings.TrimSpace(head), "|")
		var content string
		switch {
		case strings.HasPrefix(head, "echo "):
			words := strings.TrimSpace(strings.TrimPrefix(head, "echo "))
			for strings.HasPrefix(words, "-") {
				_, words, _ = strings.Cut(words, " ")
				words = strings.TrimSpace(words)
			}
			content = unquote(words)
		case strings.HasPrefix(head, "printf "):
			content = strings.ReplaceAll(unquote(strings.TrimSpace(strings.TrimPrefix(head, "printf "))), `\n`, "\n")
		default:
			continue
		}
		if truncate {
			clear(cfg)
		}
		readSettings(expand(content), cfg)
	}
}

// readSettings applies the KEY=VALUE lines of an ecs.config text.
func readSettings(text string, cfg map[string]string) {
	for _, line := range strings.Split(text, "\n") {
		if m := settingRE.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			cfg[m[1]] = unquote(m[2])
		}
	}
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}
