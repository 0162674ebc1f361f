using System.Data.Common;

namespace Registry.Data;

/// <summary>
/// Runs a transaction again when the database aborted it to break a deadlock or a serialization
/// conflict (SQLSTATE 40P01, 40001): PostgreSQL picks a victim when a manifest push and a delete lock the
/// same tags, manifests and blobs in opposite orders. The attempt's transaction has rolled back, so
/// running it again from the start is safe; SQLite never reports these (one writer at a time).
/// </summary>
public static class ConflictRetry
{
    private const int MaxAttempts = 5;

    public static async Task<T> RunAsync<T>(RegistryDbContext db, Func<Task<T>> attempt, CancellationToken cancellationToken)
    {
        for (var number = 1; ; number++)
        {
            try
            {
                return await attempt();
            }
            catch (Exception e) when (number < MaxAttempts && IsConflict(e))
            {
                // Entities the failed attempt added or changed would be saved again by the next one.
                db.ChangeTracker.Clear();
                await Task.Delay(Random.Shared.Next(2, 10 * number), cancellationToken);
            }
        }
    }

    private static bool IsConflict(Exception e) =>
        (e as DbException ?? e.InnerException as DbException)?.SqlState is "40P01" or "40001";
}
