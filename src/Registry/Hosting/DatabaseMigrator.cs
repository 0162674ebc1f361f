using Microsoft.EntityFrameworkCore;
using Registry.Data;

namespace Registry.Hosting;

/// <summary>Applies pending migrations before the server takes requests.</summary>
internal sealed class DatabaseMigrator(IDbContextFactory<RegistryDbContext> dbFactory) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await db.Database.MigrateAsync(cancellationToken);
        if (db.Database.IsSqlite())
        {
            await Data.Sqlite.SqliteDatabase.ConfigureFileAsync(db, cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
