package sqlstore

// The queries TestHotQueriesUseIndexes explains.
const (
	SiteCols   = siteCols
	TaskCols   = taskCols
	BackupCols = backupCols
)

// ClaimQuery is the claim query in s's dialect.
func (s *Store) ClaimQuery() string { return s.claimQuery }
