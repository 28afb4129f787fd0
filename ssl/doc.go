// Package ssl is the certificate service: it keeps the TLS certificates of
// sites in $AEGIR_HOME/config/ssl.d, one directory per certificate name,
// and gets new ones from a provider: self-signed certificates generated
// here with crypto/x509, or certificates from an ACME certificate authority
// (Let's Encrypt by default) through github.com/go-acme/lego, answering
// http-01 challenges with token files in the directory every site vhost of
// the web server serves /.well-known/acme-challenge/ from.
//
// A certificate covers the names (uri and aliases) of every site that
// names it as its ssl_key, and is removed when the last of them stops
// using it. Its files are replaced by swapping one symbolic link, so a web
// server never reads a new certificate with an old key. Private keys are
// mode 0600; the ACME account key and registration are kept under
// config/ssl.d/_acme/.
//
// It registers itself as the "self-signed" and "acme" certificate
// providers. It imports the domain package, lego and the standard library;
// it must not import other adapters (nginx, apache, provision, local...)
// or cmd.
package ssl
