using System.Net;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Registry.Core.Content;
using Registry.Data;
using Registry.GarbageCollection;
using Registry.Storage;
using Registry.Tests.Support;

namespace Registry.Tests.GarbageCollection;

/// <summary>What the collector removes and what it must keep. Run against each metadata database: see the subclasses at the end.</summary>
public abstract class GarbageCollectionTests(IManualCollectorFixture fixture)
{
    private readonly RegistryFixture _registry = fixture.Registry;
    private readonly HttpClient _client = fixture.Registry.CreateClient();

    [SkippableFact]
    public async Task An_unreferenced_blob_goes_only_after_its_grace_period()
    {
        var repository = OciTestClient.UniqueRepository("gc");
        var orphan = await _client.PushBlobAsync(repository, OciTestClient.RandomBytes(300));
        var (_, image) = await _client.PushImageAsync(repository, "v1");

        var early = await CollectAsync();
        Assert.DoesNotContain(early.Blobs, b => b.Digest == orphan);
        Assert.Equal(HttpStatusCode.OK, await HeadBlobAsync(repository, orphan));

        fixture.Clock.Advance(ManualCollector.GracePeriod + TimeSpan.FromMinutes(1));
        var late = await CollectAsync();

        Assert.Contains(late.Blobs, b => b.Digest == orphan && b.Size == 300);
        Assert.Equal(HttpStatusCode.NotFound, await HeadBlobAsync(repository, orphan));
        Assert.Null(await Store.GetLengthAsync(Digest.Parse(orphan), CancellationToken.None));
        await AssertPullableAsync(repository, image);
    }

    [SkippableFact]
    public async Task Deleting_an_image_frees_the_blobs_no_other_image_uses_after_the_grace_period()
    {
        var repository = OciTestClient.UniqueRepository("gc");
        var shared = OciTestClient.RandomBytes(500);
        var sharedDigest = await _client.PushBlobAsync(repository, shared);
        var (first, firstOwn) = await PushImageWithAsync(repository, "first", (sharedDigest, shared.Length));
        var (second, _) = await PushImageWithAsync(repository, "second", (sharedDigest, shared.Length));
        fixture.Clock.Advance(ManualCollector.GracePeriod + TimeSpan.FromMinutes(1));

        Assert.Equal(HttpStatusCode.Accepted, (await _client.DeleteAsync($"/v2/{repository}/manifests/{first}")).StatusCode);
        var right = await CollectAsync();
        Assert.DoesNotContain(right.Blobs, b => firstOwn.Contains(b.Digest));

        fixture.Clock.Advance(ManualCollector.GracePeriod + TimeSpan.FromMinutes(1));
        var later = await CollectAsync();

        Assert.All(firstOwn, d => Assert.Contains(later.Blobs, b => b.Digest == d));
        Assert.DoesNotContain(later.Blobs, b => b.Digest == sharedDigest);
        foreach (var digest in firstOwn)
        {
            Assert.Null(await Store.GetLengthAsync(Digest.Parse(digest), CancellationToken.None));
        }

        await AssertPullableAsync(repository, second);
    }

    [SkippableFact]
    public async Task A_dry_run_lists_what_a_run_removes_and_removes_nothing()
    {
        var repository = OciTestClient.UniqueRepository("gc");
        var orphan = await _client.PushBlobAsync(repository, OciTestClient.RandomBytes(200));
        var (_, untagged) = await PushImageWithAsync(repository, "soon-untagged");
        Assert.Equal(HttpStatusCode.Accepted, (await _client.DeleteAsync($"/v2/{repository}/manifests/soon-untagged")).StatusCode);
        fixture.Clock.Advance(ManualCollector.GracePeriod + TimeSpan.FromMinutes(1));

        var dry = await CollectAsync(dryRun: true);

        Assert.True(dry.DryRun);
        Assert.Contains(dry.Blobs, b => b.Digest == orphan);
        Assert.All(untagged, d => Assert.Contains(dry.Blobs, b => b.Digest == d));
        var untaggedManifest = Assert.Single(dry.Manifests, m => m.Repository == repository);
        Assert.Equal(HttpStatusCode.OK, await HeadBlobAsync(repository, orphan));
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync($"/v2/{repository}/manifests/{untaggedManifest.Digest}")).StatusCode);

        var run = await CollectAsync();

        Assert.Contains(run.Manifests, m => m.Digest == untaggedManifest.Digest);
        Assert.All(dry.Blobs.Where(b => b.Digest == orphan || untagged.Contains(b.Digest)), b => Assert.Contains(run.Blobs, r => r.Digest == b.Digest));
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v2/{repository}/manifests/{untaggedManifest.Digest}")).StatusCode);
    }

    [SkippableFact]
    public async Task Untagged_manifests_go_but_children_of_a_tagged_index_and_referrers_of_a_live_subject_stay()
    {
        var repository = OciTestClient.UniqueRepository("gc");
        var (amd64, amd64Blobs) = await PushImageWithAsync(repository, null);
        var (arm64, _) = await PushImageWithAsync(repository, null);
        var index = OciTestClient.IndexManifest([(amd64, await ManifestSizeAsync(repository, amd64)), (arm64, await ManifestSizeAsync(repository, arm64))]);
        Assert.Equal(HttpStatusCode.Created, (await _client.PutManifestAsync(repository, "multi", index, OciTestClient.OciIndex)).StatusCode);
        var (tagged, _) = await PushImageWithAsync(repository, "plain");
        var (_, signature) = await _client.PushImageAsync(repository, "sig-tmp", subjectDigest: tagged, subjectSize: await ManifestSizeAsync(repository, tagged), artifactType: "application/vnd.example.signature");
        Assert.Equal(HttpStatusCode.Accepted, (await _client.DeleteAsync($"/v2/{repository}/manifests/sig-tmp")).StatusCode);
        var (loose, looseBlobs) = await PushImageWithAsync(repository, null);
        fixture.Clock.Advance(ManualCollector.GracePeriod + TimeSpan.FromMinutes(1));

        var run = await CollectAsync();

        var removed = run.Manifests.Where(m => m.Repository == repository).Select(m => m.Digest).ToList();
        Assert.Equal([loose], removed);
        Assert.All(looseBlobs, d => Assert.Contains(run.Blobs, b => b.Digest == d));
        Assert.All(amd64Blobs, d => Assert.DoesNotContain(run.Blobs, b => b.Digest == d));
        foreach (var kept in new[] { amd64, arm64, tagged, signature })
        {
            await AssertPullableAsync(repository, kept);
        }

        // Untagging the index and the subject leaves their children and referrers unreachable too.
        Assert.Equal(HttpStatusCode.Accepted, (await _client.DeleteAsync($"/v2/{repository}/manifests/multi")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await _client.DeleteAsync($"/v2/{repository}/manifests/plain")).StatusCode);
        fixture.Clock.Advance(ManualCollector.GracePeriod + TimeSpan.FromMinutes(1));
        var second = await CollectAsync();

        var expected = new[] { amd64, arm64, tagged, signature, OciTestClient.DigestOf(index) }.Order();
        Assert.Equal(expected, second.Manifests.Where(m => m.Repository == repository).Select(m => m.Digest).Order());
    }

    [SkippableFact]
    public async Task A_moved_tag_gives_its_old_manifest_a_fresh_grace_period()
    {
        var repository = OciTestClient.UniqueRepository("gc");
        var (old, _) = await PushImageWithAsync(repository, "latest");
        fixture.Clock.Advance(ManualCollector.GracePeriod + TimeSpan.FromMinutes(1));
        await PushImageWithAsync(repository, "latest");

        var right = await CollectAsync();
        Assert.DoesNotContain(right.Manifests, m => m.Digest == old);

        fixture.Clock.Advance(ManualCollector.GracePeriod + TimeSpan.FromMinutes(1));
        var later = await CollectAsync();
        Assert.Contains(later.Manifests, m => m.Digest == old);
    }

    [SkippableFact]
    public async Task A_link_no_manifest_uses_is_pruned_while_the_blob_stays_where_it_is_used()
    {
        var used = OciTestClient.UniqueRepository("gc");
        var unused = OciTestClient.UniqueRepository("gc");
        var layer = OciTestClient.RandomBytes(700);
        var layerDigest = await _client.PushBlobAsync(unused, layer);
        await _client.PushBlobAsync(used, layer);
        var (image, _) = await PushImageWithAsync(used, "v1", (layerDigest, layer.Length));
        fixture.Clock.Advance(ManualCollector.GracePeriod + TimeSpan.FromMinutes(1));

        var run = await CollectAsync();

        Assert.Contains(run.Links, l => l.Repository == unused && l.Digest == layerDigest);
        Assert.DoesNotContain(run.Blobs, b => b.Digest == layerDigest);
        Assert.Equal(HttpStatusCode.NotFound, await HeadBlobAsync(unused, layerDigest));
        await AssertPullableAsync(used, image);
    }

    [SkippableFact]
    public async Task A_blob_being_deleted_reads_as_absent_and_nothing_new_may_reference_it()
    {
        var repository = OciTestClient.UniqueRepository("gc");
        var layer = OciTestClient.RandomBytes(400);
        var digest = await _client.PushBlobAsync(repository, layer);
        await MarkDeletingAsync(digest);

        Assert.Equal(HttpStatusCode.NotFound, await HeadBlobAsync(repository, digest));
        var config = await _client.PushBlobAsync(repository, "{}"u8.ToArray());
        var put = await _client.PutManifestAsync(repository, "v1", OciTestClient.ImageManifest(config, 2, [(digest, layer.Length)]));
        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Equal("MANIFEST_BLOB_UNKNOWN", await put.ErrorCodeAsync());
        var mount = await _client.PostAsync($"/v2/{OciTestClient.UniqueRepository("gc")}/blobs/uploads/?mount={digest}&from={repository}", null);
        Assert.Equal(HttpStatusCode.Accepted, mount.StatusCode);
    }

    [SkippableFact]
    public async Task Uploading_a_blob_the_collector_is_deleting_keeps_it()
    {
        var repository = OciTestClient.UniqueRepository("gc");
        var layer = OciTestClient.RandomBytes(400);
        var digest = await _client.PushBlobAsync(repository, layer);
        await MarkDeletingAsync(digest);

        await _client.PushBlobAsync(repository, layer);
        var run = await CollectAsync();

        Assert.DoesNotContain(run.Blobs, b => b.Digest == digest);
        Assert.Equal(layer, await _client.GetByteArrayAsync($"/v2/{repository}/blobs/{digest}"));
    }

    [SkippableFact]
    public async Task A_deletion_a_crash_interrupted_is_finished_by_the_next_run()
    {
        var repository = OciTestClient.UniqueRepository("gc");
        var digest = await _client.PushBlobAsync(repository, OciTestClient.RandomBytes(400));
        await MarkDeletingAsync(digest);

        await CollectAsync();

        Assert.Null(await Store.GetLengthAsync(Digest.Parse(digest), CancellationToken.None));
        await using var db = await DbAsync();
        Assert.False(await db.Blobs.AnyAsync(b => b.Digest == digest));
    }

    [SkippableFact]
    public async Task Storage_usage_counts_a_shared_blob_once_in_the_total_and_is_exact_after_collection()
    {
        var first = OciTestClient.UniqueRepository("usage");
        var second = OciTestClient.UniqueRepository("usage");
        var shared = OciTestClient.RandomBytes(1000);
        var sharedDigest = await _client.PushBlobAsync(first, shared);
        await _client.PushBlobAsync(first, OciTestClient.RandomBytes(300));
        var (firstImage, firstOwn) = await PushImageWithAsync(first, "v1", (sharedDigest, shared.Length));
        var firstManifestBytes = await ManifestSizeAsync(first, firstImage);
        var firstOwnBytes = await SizesAsync(first, firstOwn);
        var before = await UsageAsync("/api/v1/storage");

        await _client.PushBlobAsync(second, shared);
        var (secondImage, secondOwn) = await PushImageWithAsync(second, "v1", (sharedDigest, shared.Length));

        var after = await UsageAsync("/api/v1/storage");
        Assert.Equal(before.GetProperty("blobBytes").GetInt64() + await SizesAsync(second, secondOwn), after.GetProperty("blobBytes").GetInt64());
        Assert.Equal(before.GetProperty("blobCount").GetInt64() + 2, after.GetProperty("blobCount").GetInt64());
        Assert.Equal(before.GetProperty("manifestBytes").GetInt64() + await ManifestSizeAsync(second, secondImage), after.GetProperty("manifestBytes").GetInt64());
        var firstUsage = await UsageAsync($"/api/v1/storage/{first}");
        Assert.Equal(first, firstUsage.GetProperty("name").GetString());
        Assert.Equal(4, firstUsage.GetProperty("blobCount").GetInt64());
        Assert.Equal(firstOwnBytes + 1000 + 300, firstUsage.GetProperty("blobBytes").GetInt64());
        Assert.Equal(firstManifestBytes, firstUsage.GetProperty("manifestBytes").GetInt64());
        Assert.Equal(firstOwnBytes + 1300 + firstManifestBytes, firstUsage.GetProperty("totalBytes").GetInt64());

        fixture.Clock.Advance(ManualCollector.GracePeriod + TimeSpan.FromMinutes(1));
        await CollectAsync();

        var collected = await UsageAsync($"/api/v1/storage/{first}");
        Assert.Equal(3, collected.GetProperty("blobCount").GetInt64());
        Assert.Equal(firstOwnBytes + 1000, collected.GetProperty("blobBytes").GetInt64());
        var total = await UsageAsync("/api/v1/storage");
        Assert.Equal(total.GetProperty("blobBytes").GetInt64() + total.GetProperty("manifestBytes").GetInt64(), total.GetProperty("totalBytes").GetInt64());
    }

    [SkippableFact]
    public async Task Storage_usage_pages_by_repository_name_and_answers_errors_in_oci_json()
    {
        var names = Enumerable.Range(0, 3).Select(_ => OciTestClient.UniqueRepository("usage-page")).Order().ToList();
        foreach (var name in names)
        {
            await _client.PushImageAsync(name, "v1");
        }

        var page = await _client.GetAsync($"/api/v1/storage?n=2&last={Uri.EscapeDataString(names[0])}");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        using (var json = System.Text.Json.JsonDocument.Parse(await page.Content.ReadAsStringAsync()))
        {
            var listed = json.RootElement.GetProperty("repositories").EnumerateArray().Select(r => r.GetProperty("name").GetString()).ToList();
            Assert.Equal(2, listed.Count);
            Assert.Equal(names[1], listed[0]);
            Assert.Equal(names[2], listed[1]);
        }

        Assert.Contains("rel=\"next\"", page.Header("Link"), StringComparison.Ordinal);

        var anonymous = await _registry.CreateAnonymousClient().GetAsync("/api/v1/storage");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("UNAUTHORIZED", await anonymous.ErrorCodeAsync());
        Assert.NotEmpty(anonymous.Headers.WwwAuthenticate);
        var badPage = await _client.GetAsync("/api/v1/storage?n=many");
        Assert.Equal(HttpStatusCode.BadRequest, badPage.StatusCode);
        Assert.Equal("PAGINATION_NUMBER_INVALID", await badPage.ErrorCodeAsync());
        var unknown = await _client.GetAsync($"/api/v1/storage/{OciTestClient.UniqueRepository("usage")}");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("NAME_UNKNOWN", await unknown.ErrorCodeAsync());
        var invalid = await _client.GetAsync("/api/v1/storage/Not_Valid");
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal("NAME_INVALID", await invalid.ErrorCodeAsync());
    }

    private async Task<System.Text.Json.JsonElement> UsageAsync(string path)
    {
        var response = await _client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.Clone();
    }

    private async Task<long> SizesAsync(string repository, IEnumerable<string> digests)
    {
        long total = 0;
        foreach (var digest in digests)
        {
            total += (await _client.GetByteArrayAsync($"/v2/{repository}/blobs/{digest}")).Length;
        }

        return total;
    }

    private IBlobStore Store => _registry.Services.GetRequiredService<IBlobStore>();

    private Task<GarbageReport> CollectAsync(bool dryRun = false) =>
        _registry.Services.GetRequiredService<GarbageCollector>().RunAsync(dryRun, CancellationToken.None);

    private Task<RegistryDbContext> DbAsync() =>
        _registry.Services.GetRequiredService<IDbContextFactory<RegistryDbContext>>().CreateDbContextAsync();

    private async Task MarkDeletingAsync(string digest)
    {
        await using var db = await DbAsync();
        Assert.Equal(1, await db.Blobs.Where(b => b.Digest == digest).ExecuteUpdateAsync(s => s.SetProperty(b => b.Deleting, true)));
    }

    private async Task<HttpStatusCode> HeadBlobAsync(string repository, string digest) =>
        (await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/blobs/{digest}"))).StatusCode;

    private async Task<long> ManifestSizeAsync(string repository, string digest) =>
        (await _client.GetByteArrayAsync($"/v2/{repository}/manifests/{digest}")).Length;

    /// <summary>Pushes a fresh config and layer plus the given blobs; returns the manifest digest and the digests of its own blobs.</summary>
    private async Task<(string Digest, string[] OwnBlobs)> PushImageWithAsync(string repository, string? tag, params (string Digest, long Size)[] extra)
    {
        var config = Encoding.UTF8.GetBytes($"{{\"nonce\":\"{Guid.NewGuid()}\"}}");
        var layer = OciTestClient.RandomBytes(600);
        var configDigest = await _client.PushBlobAsync(repository, config);
        var layerDigest = await _client.PushBlobAsync(repository, layer);
        var manifest = OciTestClient.ImageManifest(configDigest, config.Length, [(layerDigest, layer.Length), .. extra]);
        var digest = OciTestClient.DigestOf(manifest);
        Assert.Equal(HttpStatusCode.Created, (await _client.PutManifestAsync(repository, tag ?? digest, manifest)).StatusCode);
        return (digest, [configDigest, layerDigest]);
    }

    private async Task AssertPullableAsync(string repository, string digest) => await _client.PullVerifiedAsync(repository, digest);
}

public sealed class GarbageCollectionTestsOnSqlite(ManualCollectorFixture fixture) : GarbageCollectionTests(fixture), IClassFixture<ManualCollectorFixture>;

public sealed class GarbageCollectionTestsOnPostgreSql(ManualCollectorPostgreSqlFixture fixture) : GarbageCollectionTests(fixture), IClassFixture<ManualCollectorPostgreSqlFixture>;
