// Package fleetlab makes real "remote servers" on this one machine for the
// tests of aegir's fleet (remote web and db servers reached over SSH): each
// server is a network namespace on a bridge of its fleet, with its own
// mount, UTS and PID namespaces, an overlay root, its own sshd, and the
// stock Debian nginx or apache2 with php8.2-fpm (web) or MariaDB (db).
//
//	f := fleetlab.Start(t, fleetlab.Options{AuthorizedKey: signer.PublicKey(), AegirUser: true,
//		Hide: []string{aegirHome}, DBAdmin: &fleetlab.DBAdmin{User: "aegir_root", Password: pw}},
//		fleetlab.Spec{Name: "web1", Role: fleetlab.RoleWeb},
//		fleetlab.Spec{Name: "web2", Role: fleetlab.RoleWeb, HTTP: fleetlab.HTTPApache},
//		fleetlab.Spec{Name: "db1", Role: fleetlab.RoleDB})
//	web1 := f.Servers["web1"]
//	// ssh.Dial("tcp", web1.Addr+":22", ... ssh.FixedHostKey(web1.HostKey) ...)
//	out, err := web1.Exec(ctx, "aegir", "ls", "/var/aegir")
//
// Start returns once every server answers (servers start in parallel) and
// tears the fleet down in t.Cleanup. The API:
//
//   - Fleet.Servers by name (Fleet.Server(t, name) fails the test when
//     there is none); Fleet.HostAddr, the host's address on the bridge
//     (named "master" in every server's /etc/hosts); Fleet.Subnet;
//     Fleet.KnownHosts(), a known_hosts file of every server's address and
//     host key.
//   - Server.Name, Addr (10.213.N.x), Role, HTTP, HostKey (its sshd's, new
//     per fleet; pin it).
//   - Server.Exec(ctx, user, args...) runs a command inside the server as
//     root or another user; Server.Command returns it as an *exec.Cmd for
//     stdin and streaming; Server.WriteFile writes a file as a user.
//   - Server.Path(p) is the host's path to the server's file p as the server
//     sees it (/proc/PID/root/p); Server.ReadFile reads it.
//   - Server.HTTPGet(t, host, path): GET to the server's address, port 80,
//     with that Host header, from the host.
//   - Faults: Server.Stop(t) takes it off the network (connects from the
//     host fail at once with "no route to host", open connections hang;
//     the other servers cannot reach it either) and Server.Start(t) brings
//     it back; Server.DropConnections(t) cuts every open SSH connection
//     to it at once (a failure mid-task); Server.RotateHostKey(t) gives its sshd a new host key, so a
//     pinned old key is refused; Server.FillDisk(t, dir) mounts a full
//     one-page tmpfs over dir inside the server (writes fail with "No space
//     left on device"), Server.FreeDisk(t, dir) removes it.
//
// What a server is:
//   - Network: a veth on the fleet's bridge aegfl<N> with address
//     10.213.N.(10+i) for the i-th Spec, the host at 10.213.N.1. There is no
//     default route: a server reaches the host and the fleet only.
//     /etc/hosts names the fleet and the host ("master"); resolv.conf points
//     at 127.0.0.1, where nothing answers, so a lookup fails at once.
//   - Files: the root is an overlay whose lower layer is the host's / and
//     whose upper layer is the server's own directory, so whatever a server
//     writes never reaches the host or another server. The host's
//     temporary directory (where t.TempDir is), /var/www, /var/log, /root,
//     /run and Options.Hide look empty on the server (opaque directories),
//     so a remote never "sees" the master's files and no test passes
//     falsely; /var/aegir is the server's own (absent on a raw server).
//   - sshd: keys only, root by key (Options.AuthorizedKey), UsePAM so the
//     locked aegir account logs in by key; authorized keys are in
//     /etc/ssh/authorized_keys/<user>.
//   - With Options.AegirUser the server is prepared by hand as Aegir's
//     install guide says: the aegir user (the host's uid and gid when the
//     host has one), home /var/aegir, in www-data, with the key, and a sudo
//     rule for the web server's test and reload only, as `aegir setup`
//     writes it: `nginx -t` and aegir.NginxRestartCmd (a HUP to nginx's
//     master by start-stop-daemon), or `apache2ctl configtest` and
//     `apache2ctl graceful`. Without it the server is
//     raw, root only, for testing `aegir bootstrap`.
//   - Web: php8.2-fpm (/run/php/php8.2-fpm.sock) and nginx with Debian's
//     configuration but no site (sites-enabled and conf.d are empty, so
//     aegir's server file takes port 80; nothing listens on 80 until then),
//     or apache2 with Debian's configuration, no site, and the modules of
//     teststack.ApacheModules enabled (ports.conf listens on 80).
//   - DB: mariadbd bound to the server's address, port 3306, 32 MB buffer
//     pool, root by socket inside; Options.DBAdmin may connect from
//     10.213.N.% with every privilege. Its datadir is a copy of one
//     mariadb-install-db makes once per test process.
//
// Several fleets may run at once, in one test process or several: each
// takes the first free subnet by creating its bridge (the kernel makes the
// name unique), and its namespaces are named aegfl-<pid>-<N>-<server>. A
// server's processes die with its first one (its sshd, the PID namespace's
// init), which dies with the test process; Start removes what fleets of
// dead processes left (namespaces, veths, bridges, files under
// $TMPDIR/aegir-fleetlab).
//
// A test needs root, iproute2, util-linux (unshare, nsenter), sudo,
// openssh-server, nginx, php8.2-fpm, apache2 (for HTTPApache) and
// mariadb-server (mariadbd, mariadb-install-db), all from Debian
// (scripts/deps.sh installs them). It is skipped, with the reason, when
// not root or a program is missing, and fails instead under CI=true.
//
// Measured on 2 cores shared with six other builds (load average 15-22):
// BenchmarkStart (2 nginx web servers + 1 db server, the db template made
// beforehand) 4.1-6.0 s to start, 111 MiB PSS in all (nginx web server
// ~11 MiB, db server ~84 MiB with its 32 MB buffer pool; an Apache web
// server 14-35 MiB); on an idle machine the same steps took 1.9-3.6 s. Per
// server, under that load: files 5-40 ms, namespace and veth 0.2-0.6 s,
// sshd 0.3-0.5 s, php-fpm and nginx 2-3 s, datadir copy 0.5 s.
// mariadb-install-db, once per test process, takes 1.3-3.7 s idle and up
// to 7 s under that load, in parallel with the servers' start. TestFleet
// (4 servers) takes 16-50 s, TestRawServer 10-18 s beside it.
//
//	go test -run XXX -bench BenchmarkStart -benchtime 4x ./internal/fleetlab
//
// Only tests import it. It imports the domain package (aegir's default
// reload command) and teststack (for Missing, Require and
// ApacheModules) and must not import aegir's adapters.
package fleetlab
