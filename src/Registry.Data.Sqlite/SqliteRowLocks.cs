namespace Registry.Data.Sqlite;

/// <summary>
/// No clause: every transaction here begins IMMEDIATE (Microsoft.Data.Sqlite's default), taking the
/// database's single write lock at BEGIN, so transactions that read and then write never interleave.
/// </summary>
public sealed class SqliteRowLocks : IRowLocks
{
    public string ForShare => "";

    public string ForUpdate => "";
}
