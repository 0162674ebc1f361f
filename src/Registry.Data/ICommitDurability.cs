namespace Registry.Data;

/// <summary>
/// Makes committed metadata durable before a response reports it. Providers whose commits are
/// durable by themselves do nothing; the embedded SQLite store commits without waiting for the disk
/// (so the write lock is held for microseconds, not a disk flush) and flushes here, outside the lock,
/// where concurrent requests share the flush.
/// </summary>
public interface ICommitDurability
{
    /// <summary>Returns once every transaction committed so far on any connection survives a power loss.</summary>
    ValueTask EnsureDurableAsync(CancellationToken cancellationToken);
}
