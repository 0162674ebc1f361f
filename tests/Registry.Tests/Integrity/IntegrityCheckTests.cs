using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Registry.Data;
using Registry.Tests.Support;

namespace Registry.Tests.Integrity;

/// <summary>
/// <c>registry check</c> on a real data folder: a blob whose bytes were altered, one cut short and one
/// deleted behind the registry's back are reported (exit code 1); with <c>--quarantine</c> they are
/// left in place while they may be mid-push (touched in the last minutes), then moved aside and forgotten, the registry answers BLOB_UNKNOWN for them instead of bad bytes, a push
/// restores them, and the next check is clean.
/// </summary>
public sealed class IntegrityCheckTests(RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    [Fact]
    public async Task Corrupt_short_and_missing_blobs_are_reported_then_quarantined_and_restored_by_a_push()
    {
        var admin = registry.CreateClient();
        var repository = "check/app-" + Guid.NewGuid().ToString("N")[..8];
        var altered = OciTestClient.RandomBytes(5000);
        var shortened = OciTestClient.RandomBytes(3000);
        var deleted = OciTestClient.RandomBytes(2000);
        var intact = OciTestClient.RandomBytes(1000);
        var digests = new List<string>();
        foreach (var content in new[] { altered, shortened, deleted, intact })
        {
            digests.Add(await admin.PushBlobAsync(repository, content));
        }

        var before = await RunCheckAsync();
        Assert.Equal(0, before.ExitCode);
        Assert.Contains(" 0 corrupt, 0 missing", before.Output, StringComparison.Ordinal);

        var file = BlobFile(digests[0]);
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[100] ^= 0xFF;
        await File.WriteAllBytesAsync(file, bytes);
        await File.WriteAllBytesAsync(BlobFile(digests[1]), shortened[..1000]);
        File.Delete(BlobFile(digests[2]));

        var found = await RunCheckAsync();
        Assert.Equal(1, found.ExitCode);
        Assert.Contains($"corrupt {digests[0]} (5000 bytes): content hashes to sha256:", found.Output, StringComparison.Ordinal);
        Assert.Contains($"corrupt {digests[1]} (3000 bytes): 1000 bytes stored, 3000 recorded", found.Output, StringComparison.Ordinal);
        Assert.Contains($"missing {digests[2]} (2000 bytes)", found.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(digests[3], found.Output, StringComparison.Ordinal);
        Assert.Contains(" 1 intact, 2 corrupt, 1 missing", found.Output, StringComparison.Ordinal);

        // Blobs touched in the last minutes may be mid-push: reported, but left in place.
        var young = await RunCheckAsync("--quarantine");
        Assert.Equal(1, young.ExitCode);
        Assert.Contains("left in place: touched in the last 10 minutes", young.Output, StringComparison.Ordinal);
        Assert.Contains("; 0 quarantined", young.Output, StringComparison.Ordinal);
        using (var stillThere = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/blobs/{digests[0]}")))
        {
            Assert.Equal(HttpStatusCode.OK, stillThere.StatusCode);
        }

        await using (var db = await registry.Services.GetRequiredService<IDbContextFactory<RegistryDbContext>>().CreateDbContextAsync())
        {
            await db.Blobs.Where(b => digests.Contains(b.Digest)).ExecuteUpdateAsync(b => b.SetProperty(x => x.TouchedAt, DateTime.UtcNow.AddHours(-1)));
        }

        var quarantined = await RunCheckAsync("--quarantine");
        Assert.Equal(1, quarantined.ExitCode);
        Assert.Contains("3 quarantined", quarantined.Output, StringComparison.Ordinal);
        var kept = Path.Combine(registry.DataPath, "quarantine", "sha256-" + digests[0]["sha256:".Length..]);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(kept));

        // The registry no longer claims what it cannot serve; a push brings each back.
        foreach (var (digest, content) in digests.Take(3).Zip(new[] { altered, shortened, deleted }))
        {
            using var head = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/blobs/{digest}"));
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
            using var get = await admin.GetAsync($"/v2/{repository}/blobs/{digest}");
            Assert.Equal("BLOB_UNKNOWN", await get.ErrorCodeAsync());
            Assert.Equal(digest, await admin.PushBlobAsync(repository, content));
            Assert.Equal(content, await admin.GetByteArrayAsync($"/v2/{repository}/blobs/{digest}"));
        }

        var after = await RunCheckAsync();
        Assert.Equal(0, after.ExitCode);
        Assert.Contains(" 0 corrupt, 0 missing", after.Output, StringComparison.Ordinal);
    }

    /// <summary><c>registry check</c> as a separate process on the fixture's data folder (SQLite is shared).</summary>
    private Task<Cli.Result> RunCheckAsync(params string[] options) =>
        Cli.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "registry.dll"), "check", "--data", registry.DataPath, .. options], environment: new Dictionary<string, string> { ["REGISTRY_Logging__LogLevel__Default"] = "Warning" });

    private string BlobFile(string digest)
    {
        var encoded = digest["sha256:".Length..];
        return Path.Combine(registry.DataPath, "blobs", "sha256", encoded[..2], encoded);
    }
}
