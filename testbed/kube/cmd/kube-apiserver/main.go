// Command kube-apiserver runs the real kube-apiserver command from k8s.io/kubernetes
// (cmd/kube-apiserver/app.NewAPIServerCommand) with an etcd server embedded in the same
// process, so the test bed needs one binary and no separately installed etcd.
//
// Usage:
//
//	kube-apiserver --etcd-dir DIR [--etcd-client-port N --etcd-peer-port N] -- <kube-apiserver flags>
//
// Everything after "--" is handed unchanged to kube-apiserver; --etcd-servers is added
// pointing at the embedded etcd. The process exits when either half stops, and on
// SIGINT/SIGTERM both are shut down.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	own := flag.NewFlagSet("kube-apiserver (test bed)", flag.ExitOnError)
	etcdDir := own.String("etcd-dir", "", "directory for the embedded etcd's data (required)")
	clientPort := own.Int("etcd-client-port", 0, "loopback port for etcd clients (0: pick a free one)")
	peerPort := own.Int("etcd-peer-port", 0, "loopback port for etcd peers (0: pick a free one)")
	exitOnEOF := own.Bool("exit-on-stdin-eof", false, "exit when standard input closes, so a crashed parent leaves no orphan")
	apiserverArgs := splitArgs(os.Args[1:], own)
	if *etcdDir == "" {
		fmt.Fprintln(os.Stderr, "--etcd-dir is required")
		os.Exit(2)
	}

	etcd, err := startEtcd(*etcdDir, *clientPort, *peerPort)
	if err != nil {
		fmt.Fprintf(os.Stderr, "embedded etcd: %v\n", err)
		os.Exit(1)
	}
	defer etcd.Close()

	if *exitOnEOF {
		go exitWhenStdinCloses(etcd)
	}

	command := app.NewAPIServerCommand()
	command.SetArgs(append(apiserverArgs, "--etcd-servers="+etcd.Clients[0].Addr().String()))
	// The test bed parses this line to know etcd is up; kube-apiserver prints its own.
	fmt.Fprintf(os.Stderr, "testbed: embedded etcd serving on %s\n", etcd.Clients[0].Addr())
	code := cli.Run(command)
	etcd.Close()
	os.Exit(code)
}

// splitArgs parses the flags before "--" as our own and returns what follows.
func splitArgs(args []string, own *flag.FlagSet) []string {
	for i, a := range args {
		if a == "--" {
			_ = own.Parse(args[:i])
			return args[i+1:]
		}
	}
	_ = own.Parse(args)
	return nil
}

func startEtcd(dir string, clientPort, peerPort int) (*embed.Etcd, error) {
	var err error
	if clientPort == 0 {
		if clientPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	if peerPort == 0 {
		if peerPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.Name = "testbed"
	cfg.LogLevel = "error"
	// A throwaway store: durability buys nothing here and fsync is slow on shared disks.
	cfg.UnsafeNoFsync = true
	client := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(clientPort))}
	peer := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(peerPort))}
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, err
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("etcd did not become ready within 60s")
	}
}

// exitWhenStdinCloses ends the process once the parent's end of the stdin pipe is gone:
// Node offers no parent-death signal, and a test runner killed mid-run must not leave
// kube-apiserver and etcd running.
func exitWhenStdinCloses(etcd *embed.Etcd) {
	_, _ = io.Copy(io.Discard, os.Stdin)
	fmt.Fprintln(os.Stderr, "testbed: stdin closed, parent is gone; exiting")
	etcd.Close()
	os.Exit(3)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
