using System.Globalization;
using Registry.Accounting;
using Registry.Hosting;

namespace Registry.GarbageCollection;

/// <summary><c>registry gc [--dry-run]</c>: one run against the configured database and blob store, listed line by line.</summary>
internal static class GarbageCollectionCommand
{
    public static async Task RunAsync(IServiceProvider services, bool dryRun, TextWriter output, CancellationToken cancellationToken)
    {
        var database = services.GetRequiredService<IConfiguration>().GetSection(DatabaseOptions.SectionName).Get<DatabaseOptions>() ?? new DatabaseOptions();
        if (database.MigrateOnStart)
        {
            await services.GetRequiredService<DatabaseMigrator>().MigrateAsync(cancellationToken);
        }

        var bar = Console.IsErrorRedirected ? null : new ProgressBar(Console.Error, "removing");
        GarbageReport report;
        using (bar)
        {
            report = await services.GetRequiredService<GarbageCollector>().RunAsync(dryRun, cancellationToken, bar?.Reporter<(int Done, int Total)>(p => (p.Done, p.Total, $"{p.Done}/{p.Total} blobs")));
        }

        foreach (var manifest in report.Manifests)
        {
            await output.WriteLineAsync($"manifest {manifest.Repository}@{manifest.Digest}");
        }

        foreach (var blob in report.Blobs)
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"blob {blob.Digest} {blob.Size}"));
        }

        foreach (var link in report.Links)
        {
            await output.WriteLineAsync($"link {link.Repository} {link.Digest}");
        }

        await output.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"{(dryRun ? "would remove" : "removed")} {report.Manifests.Count} manifests, {report.Blobs.Count} blobs ({report.BlobBytes} bytes), {report.Links.Count} stale links"));

        await using var scope = services.CreateAsyncScope();
        var usage = await scope.ServiceProvider.GetRequiredService<StorageUsage>().TotalAsync(cancellationToken);
        await output.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"storage used: {usage.TotalBytes} bytes in {usage.BlobCount} blobs and {usage.ManifestCount} manifests across {usage.RepositoryCount} repositories"));
    }
}
