using System.Globalization;
using Registry.Hosting;

namespace Registry.Integrity;

/// <summary>
/// <c>registry check [--quarantine]</c>: verifies every blob, lists each one that is missing or corrupt,
/// and ends with a summary; exit code 0 when all are intact, 1 otherwise. A progress bar goes to
/// stderr when it is a terminal.
/// </summary>
internal static class IntegrityCommand
{
    public static async Task<int> RunAsync(IServiceProvider services, bool quarantine, TextWriter output, CancellationToken cancellationToken)
    {
        var database = services.GetRequiredService<IConfiguration>().GetSection(DatabaseOptions.SectionName).Get<DatabaseOptions>() ?? new DatabaseOptions();
        if (database.MigrateOnStart)
        {
            await services.GetRequiredService<DatabaseMigrator>().MigrateAsync(cancellationToken);
        }

        var quarantinePath = Path.Combine(RegistryServices.DataPath(services.GetRequiredService<IConfiguration>()), "quarantine");
        using var bar = Console.IsErrorRedirected ? null : new ProgressBar(Console.Error, "checking");
        var report = await services.GetRequiredService<IntegrityCheck>().RunAsync(
            quarantine,
            quarantinePath,
            bar?.Reporter<CheckProgress>(p => (p.Bytes, p.TotalBytes, $"{ProgressBar.Bytes(p.Bytes)} of {ProgressBar.Bytes(p.TotalBytes)}, {p.Blobs}/{p.TotalBlobs} blobs")),
            cancellationToken);
        bar?.Dispose();
        foreach (var problem in report.Problems)
        {
            var action = !problem.Quarantined ? "" : problem.Condition == BlobCondition.Missing ? "; forgotten" : $"; moved to {quarantinePath}";
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{problem.Condition.ToString().ToLowerInvariant()} {problem.Digest} ({problem.Size} bytes): {problem.Detail}{action}"));
        }

        var corrupt = report.Problems.Count(p => p.Condition == BlobCondition.Corrupt);
        var missing = report.Problems.Count(p => p.Condition == BlobCondition.Missing);
        var unreadable = report.Problems.Count(p => p.Condition == BlobCondition.Unreadable);
        var quarantined = report.Problems.Count(p => p.Quarantined);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"checked {report.Blobs} blobs ({report.Bytes} bytes): {report.Blobs - report.Problems.Count} intact, {corrupt} corrupt, {missing} missing, {unreadable} unreadable{(quarantine ? $"; {quarantined} quarantined" : "")}"));
        return report.Problems.Count == 0 ? 0 : 1;
    }
}

/// <summary>A command found problems it has already reported; the process exits with 1.</summary>
internal sealed class ProblemsFoundException : Exception;
