// Package restic keeps off-site copies of backups in a restic repository
// (encrypted, deduplicated; S3-compatible and SFTP targets) and implements
// aegir.Offsite. Its settings live in $AEGIR_HOME/offsite.yml and the
// repository's key in $AEGIR_HOME/offsite.key, both 0600. restic runs
// through an aegir.Runner as an argument vector; the key and the S3
// credentials reach it only through its environment (RESTIC_PASSWORD_FILE,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), never on a command line.
//
// It imports only the domain package and YAML; it must not import other
// adapters.
package restic
