namespace Registry.Data.PostgreSql;

/// <summary>
/// PostgreSQL acknowledges a commit only after its WAL record is flushed (synchronous_commit on, the
/// server's default), so a committed transaction is already durable.
/// </summary>
public sealed class PostgreSqlCommits : ICommitDurability
{
    public ValueTask EnsureDurableAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
