using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using SQLitePCL;

namespace Registry.Data.Sqlite;

/// <summary>The embedded SQLite metadata store: options, connection settings and the migrations in this assembly.</summary>
public static class SqliteDatabase
{
    /// <summary>Configures <paramref name="builder"/> for the SQLite file at <paramref name="path"/>.</summary>
    public static DbContextOptionsBuilder UseRegistrySqlite(this DbContextOptionsBuilder builder, string path)
    {
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        return builder
            .UseSqlite(connectionString, sqlite => sqlite.MigrationsAssembly(typeof(SqliteDatabase).Assembly.GetName().Name))
            .AddInterceptors(ConnectionSettings.Instance);
    }

    /// <summary>
    /// Settings that persist in the database file: WAL, so readers never wait for the one writer.
    /// </summary>
    public static Task ConfigureFileAsync(RegistryDbContext db, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);

    /// <summary>
    /// Per-connection settings, applied once per native connection (the pool reopens the same ones on
    /// every query, and a connection-string setting would be re-run each time): foreign keys enforced,
    /// writers wait for the lock instead of failing at once (<see cref="SqliteBusyWait"/>), and commits
    /// do not fsync the log inside the write lock; <see cref="SqliteWalFlush"/> makes them durable
    /// afterwards. Each pooled
    /// connection keeps its own page cache, so the cache is 256 KiB rather than SQLite's 2 MiB: with a
    /// connection per concurrent request the default held ~9 MiB of a 2.6 MiB database after 200 image
    /// pushes (256 KiB: 5.5 MiB, most of it schema and statements), and a page not cached is one read
    /// from the operating system's page cache away.
    /// </summary>
    private sealed class ConnectionSettings : DbConnectionInterceptor
    {
        public static readonly ConnectionSettings Instance = new();

        private static readonly ConditionalWeakTable<sqlite3, object> Configured = new();

        public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

        public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            Apply(connection);
            return Task.CompletedTask;
        }

        private static void Apply(DbConnection connection)
        {
            if (connection is not SqliteConnection { Handle: { } handle } sqlite || Configured.TryGetValue(handle, out _))
            {
                return;
            }

            SqliteBusyWait.Install(handle);
            using (var command = sqlite.CreateCommand())
            {
                command.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-256;";
                command.ExecuteNonQuery();
            }

            Configured.AddOrUpdate(handle, handle);
        }
    }
}
