// Package stack brings up the whole deployment described by a SAM template
// on loopback, without Docker: moto for the AWS services, the functions'
// built bootstraps behind a Lambda Invoke endpoint, and the HTTP API front.
package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/referflow/referflow/infra/local/awsapi"
	"github.com/referflow/referflow/infra/local/build"
	"github.com/referflow/referflow/infra/local/fault"
	"github.com/referflow/referflow/infra/local/httpapi"
	"github.com/referflow/referflow/infra/local/lambdaemu"
	"github.com/referflow/referflow/infra/local/mailbox"
	"github.com/referflow/referflow/infra/local/meter"
	"github.com/referflow/referflow/infra/local/moto"
	"github.com/referflow/referflow/infra/local/sam"
)

// Config configures Run.
type Config struct {
	// Template is the SAM template; RepoRoot the module root.
	Template, RepoRoot string
	// Port is the HTTP API port (0 = a free port).
	Port int
	// BinDir holds prebuilt DIR/<LogicalId>/bootstrap binaries; when empty
	// the functions are built with make into a temporary directory.
	BinDir string
	// LogDir, when set, gets one log file per function and moto.log.
	LogDir string
	// Quiet keeps function and moto output off Log (LogDir still gets it).
	Quiet bool
	// Getenv reads the stack's environment (os.Getenv when nil).
	Getenv func(string) string
	// Stdout receives the READY line and the human summary; Log the logs.
	Stdout, Log io.Writer
	// Seed runs after everything is up, before READY is printed.
	Seed func(ctx context.Context, s *Stack) error
}

// Stack describes a running local stack.
type Stack struct {
	RepoRoot       string
	Template       *sam.Template
	Region         string
	APIURL         string
	AWSEndpoint    string // Lambda Invoke + every AWS API (port B)
	MotoURL        string
	SettingsPrefix string
	// Tables, StateMachines and Functions map logical ids to the table
	// name, state machine ARN and function name.
	Tables        map[string]string
	StateMachines map[string]string
	Functions     map[string]string
	// SiteURL is the example marketing site's origin (site.go).
	SiteURL string
	// AWS is an SDK configuration pointed at AWSEndpoint with static
	// "testing" credentials.
	AWS aws.Config
}

// Ready is the JSON document printed after "READY " on start-up.
type Ready struct {
	API            string            `json:"api"`
	AWS            string            `json:"aws"`
	Moto           string            `json:"moto"`
	Region         string            `json:"region"`
	Tables         map[string]string `json:"tables"`
	StateMachines  map[string]string `json:"state_machines"`
	Functions      map[string]string `json:"functions"`
	SettingsPrefix string            `json:"settings_prefix"`
	// Fakes maps each provider whose API is faked to the fake's URL.
	Fakes map[string]string `json:"fakes"`
	// EgressProxy is the guard the functions' HTTP(S) goes through.
	EgressProxy string `json:"egress_proxy"`
	// Site is the example marketing site's origin (site.go).
	Site string `json:"site"`
	// EventBuses maps each EventBridge bus's logical id to its name; what
	// is put on them is shown at <api>/_local/events.
	EventBuses map[string]string `json:"event_buses"`
}

// AWSConfig returns an SDK configuration for endpoint with the local
// stack's region and static "testing" credentials.
func AWSConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       sam.Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing", Source: "referflow-local"}, nil
		}),
		RetryMaxAttempts: 3,
	}
}

// Run brings the stack up, prints READY, and keeps it running until ctx is
// done (or moto dies); it then stops every child process.
func Run(ctx context.Context, cfg Config) (err error) {
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	logger := log.New(cfg.Log, "referflow-local: ", log.LstdFlags|log.Lmsgprefix)
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()

	site, tpl, err := loadWithSite(cfg, logger) // the example site's origin joins CorsAllowOrigins
	if err != nil {
		return err
	}
	cleanups = append(cleanups, site.Close)

	// Function binaries.
	var bins map[string]string
	if cfg.BinDir != "" {
		bins, err = build.Prebuilt(tpl.Functions, cfg.BinDir)
	} else {
		dir, derr := os.MkdirTemp("", "referflow-local-bin-")
		if derr != nil {
			return fmt.Errorf("build dir: %w", derr)
		}
		cleanups = append(cleanups, func() { os.RemoveAll(dir) })
		logger.Printf("building %d functions with make (%d at a time)...", len(tpl.Functions), build.Parallel)
		bins, err = build.Functions(ctx, tpl.Functions, dir)
	}
	if err != nil {
		return err
	}

	// Ports: B (AWS endpoint, moto's MOTO_PORT), A (moto), the HTTP API.
	awsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("AWS endpoint listener: %w", err)
	}
	cleanups = append(cleanups, func() { awsLn.Close() })
	apiLn, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", cfg.Port))
	if err != nil {
		return fmt.Errorf("HTTP API listener: %w", err)
	}
	cleanups = append(cleanups, func() { apiLn.Close() })
	motoPort, err := freePort()
	if err != nil {
		return err
	}
	awsPort := awsLn.Addr().(*net.TCPAddr).Port

	var childLog io.Writer = cfg.Log
	if cfg.Quiet {
		childLog = io.Discard
	}
	motoLog := io.Writer(&prefixLines{prefix: "[moto] ", w: childLog})
	if cfg.LogDir != "" {
		if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
			return fmt.Errorf("log dir: %w", err)
		}
		f, err := os.Create(filepath.Join(cfg.LogDir, "moto.log"))
		if err != nil {
			return fmt.Errorf("moto log: %w", err)
		}
		cleanups = append(cleanups, func() { f.Close() })
		motoLog = io.MultiWriter(motoLog, f)
	}
	// Outside APIs: fakes, and the guard every child's HTTP(S) goes through.
	herm, err := startHermetic(cfg.Getenv, logger)
	if err != nil {
		return err
	}
	cleanups = append(cleanups, herm.Close)
	// moto binds its own port after we picked it free: another process
	// (a parallel stack) may take it first, so a lost race tries a new port.
	var motoSrv *moto.Server
	for attempt := 1; ; attempt++ {
		motoSrv, err = moto.Start(ctx, moto.Options{Port: motoPort, LambdaPort: awsPort, Log: motoLog, Env: herm.guard.Env("moto")})
		if err == nil || attempt == 3 || ctx.Err() != nil {
			break
		}
		if motoPort, err = freePort(); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	cleanups = append(cleanups, motoSrv.Stop)

	names := map[string]string{}
	memory := map[string]int{}
	for _, f := range tpl.Functions {
		names[f.LogicalID] = f.Name
		memory[f.LogicalID] = f.MemorySize
	}
	m := meter.New(names, memory)
	runCtx, cancelRun := context.WithCancel(ctx)
	cleanups = append(cleanups, cancelRun)
	endpoint, err := awsapi.New(runCtx, motoSrv.URL, m, logger)
	if err != nil {
		return err
	}
	plan, err := fault.Load(cfg.Getenv)
	if err != nil {
		return err
	}
	if endpoint.Faults = fault.New(plan); plan != nil {
		logger.Printf("fault plan active (%s): functions fail, DynamoDB and Step Functions refuse at its rates", fault.Env)
	}
	baseEnv := map[string]string{}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOCOVERDIR"} {
		if v := os.Getenv(k); v != "" {
			baseEnv[k] = v
		}
	}
	emuOpts := lambdaemu.Options{
		Log:     childLog,
		LogDir:  cfg.LogDir,
		Meter:   m,
		BaseEnv: baseEnv,
		Proxy: func(function string, current func() string) http.Handler {
			return endpoint.Handler(function, current)
		},
	}
	var pools []*lambdaemu.Pool
	cleanups = append(cleanups, func() {
		var wg sync.WaitGroup
		for _, p := range pools {
			wg.Add(1)
			go func() { defer wg.Done(); p.Stop() }()
		}
		wg.Wait()
	})
	// Links the functions write (emails) name the local API (functionEnv).
	herm.apiURL = fmt.Sprintf("http://%s", apiLn.Addr())
	for _, f := range tpl.Functions {
		env := herm.functionEnv(f.LogicalID, f.Environment, cfg.Getenv)
		p, err := lambdaemu.NewPool(lambdaemu.Function{
			LogicalID:  f.LogicalID,
			Name:       f.Name,
			ARN:        f.ARN,
			Binary:     bins[f.LogicalID],
			MemorySize: f.MemorySize,
			Timeout:    time.Duration(f.Timeout) * time.Second,
			Env:        env,
		}, emuOpts)
		if err != nil {
			return err
		}
		pools = append(pools, p)
		endpoint.AddPool(p)
	}
	// EventBridge: what moto accepts also goes to the local bus, which
	// delivers it to the rules' targets and shows it at /_local/events.
	bus, err := newEventBus(tpl, endpoint, logger)
	if err != nil {
		return err
	}
	cleanups = append(cleanups, bus.Close)
	endpoint.Events, herm.events = bus, bus.Handler()
	// SES v2: what moto accepts is kept in the local mailbox (/_local/mail).
	box := mailbox.New()
	endpoint.Mail, herm.mail = box, box.Handler()
	awsSrv := &http.Server{Handler: endpoint.Handler(meter.StatesCaller, nil), ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger}
	go func() { _ = awsSrv.Serve(awsLn) }()
	cleanups = append(cleanups, func() { _ = awsSrv.Close() })

	st := &Stack{
		RepoRoot:       cfg.RepoRoot,
		Template:       tpl,
		Region:         sam.Region,
		AWSEndpoint:    fmt.Sprintf("http://127.0.0.1:%d", awsPort),
		MotoURL:        motoSrv.URL,
		APIURL:         fmt.Sprintf("http://%s", apiLn.Addr()),
		SettingsPrefix: tpl.SettingsPrefix(),
		Tables:         map[string]string{},
		StateMachines:  map[string]string{},
		Functions:      names,
		SiteURL:        site.Origin,
	}
	st.AWS = AWSConfig(st.AWSEndpoint)
	site.serve(st, logger)
	direct := AWSConfig(motoSrv.URL) // set-up calls go to moto, unmetered
	if err := createTables(ctx, direct, tpl, st); err != nil {
		return err
	}
	if err := createStateMachines(ctx, direct, tpl, st); err != nil {
		return err
	}
	if err := putSettings(ctx, direct, st.SettingsPrefix, herm.settings); err != nil {
		return err
	}
	if err := createEventBuses(ctx, direct, tpl); err != nil {
		return err
	}
	if err := createEmailIdentities(ctx, direct, tpl, logger); err != nil {
		return err
	}
	stopStreams, err := startStreams(runCtx, direct, tpl, endpoint, logger)
	if err != nil {
		return err
	}
	cleanups = append(cleanups, stopStreams)

	// HTTP API front.
	runNow := &scheduleRunner{}
	front, err := newFront(tpl, endpoint, m, cfg.Getenv, logger, pools, runNow)
	if err != nil {
		return err
	}
	apiSrv := &http.Server{Handler: herm.handler(front, front.ready), ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger}
	go func() { _ = apiSrv.Serve(apiLn) }()
	cleanups = append(cleanups, func() { _ = apiSrv.Close() })

	stopSchedules := startSchedules(runCtx, tpl, endpoint, cfg.Getenv, logger, runNow)
	cleanups = append(cleanups, stopSchedules)

	if cfg.Seed != nil {
		if err := cfg.Seed(ctx, st); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	m.Reset() // count from READY on, not the set-up and seed calls

	doc := Ready{
		API: st.APIURL, AWS: st.AWSEndpoint, Moto: st.MotoURL, Region: st.Region,
		Tables: st.Tables, StateMachines: st.StateMachines, Functions: st.Functions,
		SettingsPrefix: st.SettingsPrefix, Fakes: herm.fakes.URLs(), EgressProxy: herm.guard.URL, Site: st.SiteURL,
		EventBuses: map[string]string{},
	}
	for _, b := range tpl.EventBuses {
		doc.EventBuses[b.LogicalID] = b.Name
	}
	front.ready.Store(&doc)
	ready, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("READY line: %w", err)
	}
	fmt.Fprintf(cfg.Stdout, "READY %s\n", ready)
	printSummary(cfg.Stdout, st, front.routes)
	herm.printSummary(cfg.Stdout, st.APIURL)
	site.printSummary(cfg.Stdout)
	bus.PrintSummary(cfg.Stdout, st.APIURL, busNames(tpl))

	select {
	case <-ctx.Done():
		logger.Printf("shutting down")
		return nil
	case <-motoSrv.Done():
		return errors.New("moto exited unexpectedly")
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func printSummary(w io.Writer, st *Stack, routes []httpapi.Route) {
	fmt.Fprintf(w, "Referflow local stack is up (Ctrl-C stops it).\n")
	fmt.Fprintf(w, "  HTTP API      %s\n", st.APIURL)
	for _, r := range routes {
		auth := ""
		if r.IAM {
			auth = "  [AWS_IAM: Authorization: Bearer $REFERFLOW_ADMIN_TOKEN]"
		}
		fmt.Fprintf(w, "    %-32s -> %s%s\n", r.Key(), r.Function, auth)
	}
	fmt.Fprintf(w, "  AWS endpoint  %s   (AWS_ENDPOINT_URL; Lambda Invoke + everything moto serves)\n", st.AWSEndpoint)
	fmt.Fprintf(w, "  moto          %s\n", st.MotoURL)
	for _, id := range sortedKeys(st.Tables) {
		fmt.Fprintf(w, "  table         %s = %s\n", id, st.Tables[id])
	}
	for _, id := range sortedKeys(st.StateMachines) {
		fmt.Fprintf(w, "  state machine %s = %s\n", id, st.StateMachines[id])
	}
	fmt.Fprintf(w, "  stats         %s/__referflow/stats\n", st.APIURL)
}

// prefixLines prefixes each line written to w.
type prefixLines struct {
	mu     sync.Mutex
	prefix string
	w      io.Writer
	buf    []byte
}

func (p *prefixLines) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := strings.IndexByte(string(p.buf), '\n')
		if i < 0 {
			break
		}
		_, _ = p.w.Write(append([]byte(p.prefix), p.buf[:i+1]...))
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}
