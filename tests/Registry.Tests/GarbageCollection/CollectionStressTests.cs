using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Registry.Core.Content;
using Registry.GarbageCollection;
using Registry.Storage;
using Registry.Tests.Support;

namespace Registry.Tests.GarbageCollection;

/// <summary>
/// Pushes, re-tags and deletes from several clients at once while the background collector runs
/// every 200 ms with a one-second grace period and untagged collection on; then every tagged image
/// must pull whole with every digest right, and after one more run the accounting and the bytes in
/// the store must match exactly what the tags reach. Run against each metadata database: see the subclasses at the end.
/// </summary>
public abstract class CollectionStressTests(RegistryFixture registry)
{
    private const int Workers = 6;
    private const int OperationsPerWorker = 40;
    private static readonly string[] Tags = ["a", "b", "c", "d"];

    private readonly HttpClient _client = registry.CreateClient();

    [SkippableFact]
    public async Task Concurrent_pushes_retags_and_deletes_never_lose_what_a_tag_reaches()
    {
        var repositories = Enumerable.Range(0, 3).Select(_ => OciTestClient.UniqueRepository("gc-stress")).ToArray();
        var baseLayers = Enumerable.Range(0, 2).Select(i => Encoding.UTF8.GetBytes($"base layer {i} {Guid.NewGuid()}" + new string('x', 4000))).ToArray();
        var failures = new ConcurrentQueue<string>();
        var pushed = new ConcurrentBag<string>();

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker);
            for (var i = 0; i < OperationsPerWorker; i++)
            {
                var repository = repositories[random.Next(repositories.Length)];
                var tag = Tags[random.Next(Tags.Length)];
                try
                {
                    switch (random.Next(10))
                    {
                        case < 5:
                            await PushImageAsync(repository, tag, baseLayers, failures, pushed);
                            break;
                        case < 7:
                            await PushIndexAsync(repository, tag, baseLayers, failures, pushed);
                            break;
                        case 7:
                            Expect(await _client.DeleteAsync($"/v2/{repository}/manifests/{tag}"), failures, HttpStatusCode.Accepted, HttpStatusCode.NotFound);
                            break;
                        default:
                            var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/manifests/{tag}"));
                            if (head.StatusCode == HttpStatusCode.OK)
                            {
                                Expect(await _client.DeleteAsync($"/v2/{repository}/manifests/{head.Header("Docker-Content-Digest")}"), failures, HttpStatusCode.Accepted, HttpStatusCode.NotFound);
                            }

                            break;
                    }
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    failures.Enqueue($"{repository}:{tag}: {e.Message}");
                }
            }
        })));

        Assert.Empty(failures);
        var store = registry.Services.GetRequiredService<IBlobStore>();
        var collectedMeanwhile = 0;
        foreach (var digest in pushed.Distinct())
        {
            collectedMeanwhile += await store.GetLengthAsync(Digest.Parse(digest), CancellationToken.None) is null ? 1 : 0;
        }

        Assert.True(collectedMeanwhile > 0, "the background collector removed nothing while the clients worked");
        var reachable = await PullEveryTagAsync(repositories);

        // Past the grace period, one more run leaves exactly what the tags reach.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await registry.Services.GetRequiredService<GarbageCollector>().RunAsync(dryRun: false, CancellationToken.None);
        Assert.Equal(reachable.Keys.Order(), (await PullEveryTagAsync(repositories)).Keys.Order());
        foreach (var repository in repositories)
        {
            var usage = await _client.GetStringAsync($"/api/v1/storage/{repository}");
            using var json = System.Text.Json.JsonDocument.Parse(usage);
            var (manifests, blobs) = reachable.Where(r => r.Key == repository).Select(r => r.Value).Single();
            Assert.Equal(blobs.Count, json.RootElement.GetProperty("blobCount").GetInt64());
            Assert.Equal(blobs.Values.Sum(), json.RootElement.GetProperty("blobBytes").GetInt64());
            Assert.Equal(manifests.Count, json.RootElement.GetProperty("manifestCount").GetInt64());
        }

        var allBlobs = reachable.Values.SelectMany(r => r.Blobs).DistinctBy(b => b.Key).ToList();
        var stored = Directory.EnumerateFiles(Path.Combine(registry.DataPath, "blobs"), "*", SearchOption.AllDirectories).Select(f => new FileInfo(f)).ToList();
        Assert.Equal(allBlobs.Count, stored.Count);
        Assert.Equal(allBlobs.Sum(b => b.Value), stored.Sum(f => f.Length));
    }

    /// <summary>Every tag of every repository pulled and verified; per repository, the manifests and blobs they reach.</summary>
    private async Task<Dictionary<string, (HashSet<string> Manifests, Dictionary<string, long> Blobs)>> PullEveryTagAsync(string[] repositories)
    {
        var reached = new Dictionary<string, (HashSet<string>, Dictionary<string, long>)>();
        foreach (var repository in repositories)
        {
            var manifests = new HashSet<string>(StringComparer.Ordinal);
            var blobs = new Dictionary<string, long>(StringComparer.Ordinal);
            var list = await _client.GetAsync($"/v2/{repository}/tags/list");
            if (list.StatusCode == HttpStatusCode.OK)
            {
                using var json = System.Text.Json.JsonDocument.Parse(await list.Content.ReadAsStringAsync());
                foreach (var tag in json.RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!))
                {
                    var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/manifests/{tag}"));
                    Assert.Equal(HttpStatusCode.OK, head.StatusCode);
                    var (pulledManifests, pulledBlobs) = await _client.PullVerifiedAsync(repository, head.Header("Docker-Content-Digest"));
                    manifests.UnionWith(pulledManifests);
                    foreach (var (digest, size) in pulledBlobs)
                    {
                        blobs[digest] = size;
                    }
                }
            }

            reached[repository] = (manifests, blobs);
        }

        return reached;
    }

    private async Task<(string Digest, long Size)> PushImageAsync(string repository, string tag, byte[][] baseLayers, ConcurrentQueue<string> failures, ConcurrentBag<string> pushed)
    {
        var config = Encoding.UTF8.GetBytes($"{{\"nonce\":\"{Guid.NewGuid()}\"}}");
        var own = OciTestClient.RandomBytes(2048);
        var layers = new List<(string, long)>();
        foreach (var layer in baseLayers.Append(own))
        {
            layers.Add((await _client.PushBlobAsync(repository, layer), layer.Length));
        }

        var configDigest = await _client.PushBlobAsync(repository, config);
        pushed.Add(configDigest);
        pushed.Add(layers[^1].Item1);
        var manifest = OciTestClient.ImageManifest(configDigest, config.Length, layers);
        Expect(await _client.PutManifestAsync(repository, tag, manifest), failures, HttpStatusCode.Created);
        return (OciTestClient.DigestOf(manifest), manifest.Length);
    }

    private async Task PushIndexAsync(string repository, string tag, byte[][] baseLayers, ConcurrentQueue<string> failures, ConcurrentBag<string> pushed)
    {
        var amd64 = await PushImageAsync(repository, "child-amd64", baseLayers, failures, pushed);
        var arm64 = await PushImageAsync(repository, "child-arm64", baseLayers, failures, pushed);
        var index = OciTestClient.IndexManifest([amd64, arm64]);
        Expect(await _client.PutManifestAsync(repository, tag, index, OciTestClient.OciIndex), failures, HttpStatusCode.Created);
    }

    private static void Expect(HttpResponseMessage response, ConcurrentQueue<string> failures, params HttpStatusCode[] expected)
    {
        if (!expected.Contains(response.StatusCode))
        {
            failures.Enqueue($"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri}: {(int)response.StatusCode} {response.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
        }
    }
}

/// <summary>A registry whose background collector runs every 200 ms with a one-second grace period and untagged collection on.</summary>
internal static class BusyCollector
{
    public static void Configure(Dictionary<string, string?> settings)
    {
        settings["GarbageCollection:Interval"] = "00:00:00.2";
        settings["GarbageCollection:GracePeriod"] = "00:00:01";
        settings["GarbageCollection:DeleteUntagged"] = "true";
    }
}

public sealed class BusyCollectorFixture : RegistryFixture
{
    public BusyCollectorFixture() => BusyCollector.Configure(Settings);
}

public sealed class BusyCollectorPostgreSqlFixture : PostgreSqlRegistryFixture
{
    public BusyCollectorPostgreSqlFixture() => BusyCollector.Configure(Settings);
}

public sealed class CollectionStressTestsOnSqlite(BusyCollectorFixture registry) : CollectionStressTests(registry), IClassFixture<BusyCollectorFixture>;

public sealed class CollectionStressTestsOnPostgreSql(BusyCollectorPostgreSqlFixture registry) : CollectionStressTests(registry.Require()), IClassFixture<BusyCollectorPostgreSqlFixture>;
