// Command testapp is the tiny workload that Berth's tests run as an ECS
// container. It is built as a static binary into a FROM-scratch
// image (see internal/testutil.BuildTestImage), so everything a test needs —
// including a Docker HEALTHCHECK probe — is implemented here rather than by a
// shell.
//
// Usage:
//
//	testapp                  serve HTTP on :$PORT (default 8080)
//	testapp print TEXT...    print TEXT to stdout, then serve HTTP
//	testapp exit N           exit immediately with code N
//	testapp sleep N          sleep N seconds, then exit 0
//	testapp healthcheck URL  GET URL; exit 0 on HTTP 200, else 1
//
// HTTP endpoints:
//
//	GET /            {"hostname": ..., "args": [...], "env": {...all env vars...}}
//	GET /exit?code=N answer, then exit with code N
//	GET /whoami      sts:GetCallerIdentity with an unmodified AWS SDK for Go v2
//	                 and its default configuration and credential chain;
//	                 answers {"Arn","Account","UserId"} or {"error"}
//	GET /fetch?url=U GET U from inside the container; answers
//	                 {"status": N, "body": "..."}
//
// Signals: on SIGTERM (or SIGINT) the process exits with the code in
// TERM_EXIT_CODE (default 0). With IGNORE_SIGTERM=1 it ignores SIGTERM, so a
// "docker stop" has to escalate to SIGKILL (exit code 137).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	args := os.Args[1:]
	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}

	switch cmd {
	case "exit":
		code := intArg(args, 0)
		fmt.Printf("testapp: exiting with code %d\n", code)
		os.Exit(code)
	case "healthcheck":
		if len(args) < 2 {
			fatalf("usage: testapp healthcheck URL")
		}
		os.Exit(healthcheck(args[1]))
	}

	setupSignals()

	switch cmd {
	case "sleep":
		n := intArg(args, 0)
		fmt.Printf("testapp: sleeping %ds (pid %d)\n", n, os.Getpid())
		time.Sleep(time.Duration(n) * time.Second)
		os.Exit(0)
	case "print":
		fmt.Println(strings.Join(args[1:], " "))
		serve()
	case "", "serve":
		serve()
	default:
		fatalf("testapp: unknown command %q", cmd)
	}
}

// intArg returns args[1] as an int, or def when it is absent.
func intArg(args []string, def int) int {
	if len(args) < 2 {
		return def
	}
	n, err := strconv.Atoi(args[1])
	if err != nil {
		fatalf("testapp: %s: bad number %q", args[0], args[1])
	}
	return n
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	os.Exit(2)
}

// setupSignals installs the SIGTERM behaviour described in the package doc.
// Handling the signal explicitly matters: as PID 1 of a container the process
// would otherwise not be terminated by SIGTERM at all.
func setupSignals() {
	if os.Getenv("IGNORE_SIGTERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
		return
	}
	code := 0
	if v := os.Getenv("TERM_EXIT_CODE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			fatalf("testapp: bad TERM_EXIT_CODE %q", v)
		}
		code = n
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		s := <-ch
		fmt.Printf("testapp: received %v, exiting with code %d\n", s, code)
		os.Exit(code)
	}()
}

func serve() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", handleRoot)
	mux.HandleFunc("GET /exit", handleExit)
	mux.HandleFunc("GET /whoami", handleWhoami)
	mux.HandleFunc("GET /fetch", handleFetch)

	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		fatalf("testapp: %v", err)
	}
	fmt.Printf("testapp: listening on :%s (pid %d)\n", port, os.Getpid())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); err != nil {
		fatalf("testapp: %v", err)
	}
}

func handleRoot(w http.ResponseWriter, _ *http.Request) {
	host, _ := os.Hostname()
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"hostname": host,
		"args":     os.Args[1:],
		"env":      env,
	})
}

func handleExit(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(r.URL.Query().Get("code"))
	if err != nil {
		http.Error(w, "code must be an integer", http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "exiting with code %d\n", code)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	go func() {
		// Give the response a moment to reach the client.
		time.Sleep(100 * time.Millisecond)
		fmt.Printf("testapp: /exit requested, exiting with code %d\n", code)
		os.Exit(code)
	}()
}

func healthcheck(url string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, "healthcheck: status", resp.Status)
		return 1
	}
	fmt.Println("healthcheck: ok")
	return 0
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// handleWhoami asks STS who the SDK's default credentials are, as any
// application in an ECS task would: region, endpoint and credentials all
// come from the SDK's defaults (environment, container credentials).
func handleWhoami(w http.ResponseWriter, r *http.Request) {
	cfg, err := config.LoadDefaultConfig(r.Context())
	if err != nil {
		writeJSON(w, map[string]string{"error": err.Error()})
		return
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(r.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		writeJSON(w, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, map[string]string{"Arn": aws.ToString(out.Arn), "Account": aws.ToString(out.Account), "UserId": aws.ToString(out.UserId)})
}

func handleFetch(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL.Query().Get("url"), nil)
	if err != nil {
		writeJSON(w, map[string]any{"status": 0, "body": err.Error()})
		return
	}
	req.Close = true // a new connection each time, so a firewall change shows at once
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		writeJSON(w, map[string]any{"status": 0, "body": err.Error()})
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	writeJSON(w, map[string]any{"status": resp.StatusCode, "body": string(body)})
}
