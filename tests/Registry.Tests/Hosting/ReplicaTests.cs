using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Npgsql;
using Registry.Tests.Support;

namespace Registry.Tests.Hosting;

/// <summary>
/// Two <c>registry serve</c> processes over one PostgreSQL database and one S3 bucket serve one
/// registry: an upload continues on whichever replica the next request reaches, and pushes through
/// both at once all land.
/// </summary>
public sealed class ReplicaTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "registry-replica-tests", Guid.NewGuid().ToString("N"));
    private readonly string _database = "registry_replicas_" + Guid.NewGuid().ToString("N");
    private readonly string _bucket = S3TestServer.NewBucketName();
    private readonly List<ServerProcess> _replicas = [];

    public ReplicaTests()
    {
        PostgreSqlTestServer.SkipUnlessAvailable();
        S3TestServer.SkipUnlessAvailable();
    }

    public async Task InitializeAsync()
    {
        if (!PostgreSqlTestServer.Available || !S3TestServer.Available)
        {
            return;
        }

        var connectionString = await PostgreSqlTestServer.CreateDatabaseAsync(_database);
        foreach (var name in new[] { "a", "b" })
        {
            var replica = new ServerProcess(Path.Combine(_root, name));
            replica.Environment["REGISTRY_Database__Type"] = "postgresql";
            replica.Environment["REGISTRY_Database__ConnectionString"] = connectionString;
            S3TestServer.Configure(replica, _bucket);
            _replicas.Add(replica);
            await replica.StartAsync();
        }
    }

    [SkippableFact]
    public async Task A_chunked_upload_moves_between_replicas_and_completes_with_the_right_digest()
    {
        using var a = _replicas[0].CreateClient();
        using var b = _replicas[1].CreateClient();
        var chunks = new[] { OciTestClient.RandomBytes(6 * 1024 * 1024 + 3), OciTestClient.RandomBytes(9 * 1024 * 1024), OciTestClient.RandomBytes(1000) };
        byte[] content = [.. chunks[0], .. chunks[1], .. chunks[2]];
        var digest = OciTestClient.DigestOf(content);

        var start = await a.PostAsync("/v2/replicas/chunked/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var location = start.Headers.Location!;
        long offset = 0;
        var clients = new[] { a, b, a };
        for (var i = 0; i < chunks.Length; i++)
        {
            var body = new ByteArrayContent(chunks[i]);
            body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            body.Headers.TryAddWithoutValidation("Content-Range", string.Create(CultureInfo.InvariantCulture, $"{offset}-{offset + chunks[i].Length - 1}"));
            var patch = await clients[i].PatchAsync(location, body);
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
            location = patch.Headers.Location!;
            offset += chunks[i].Length;
        }

        var status = await b.GetAsync(location);
        Assert.Equal($"0-{offset - 1}", status.Headers.GetValues("Range").Single());
        var put = await b.PutAsync(OciTestClient.WithQuery(location, $"digest={digest}"), null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);

        Assert.Equal(content, await a.GetByteArrayAsync($"/v2/replicas/chunked/blobs/{digest}"));
        Assert.Equal(content, await b.GetByteArrayAsync($"/v2/replicas/chunked/blobs/{digest}"));
    }

    [SkippableFact]
    public async Task Concurrent_pushes_through_both_replicas_all_land_and_read_back_from_either()
    {
        using var a = _replicas[0].CreateClient();
        using var b = _replicas[1].CreateClient();

        var pushed = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => (i % 2 == 0 ? a : b).PushImageAsync($"replicas/concurrent-{i % 3}", $"v{i}")));

        for (var i = 0; i < pushed.Length; i++)
        {
            foreach (var client in new[] { a, b })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/replicas/concurrent-{i % 3}/manifests/v{i}");
                request.Headers.Accept.ParseAdd(OciTestClient.OciManifest);
                var response = await client.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal(pushed[i].Manifest, await response.Content.ReadAsByteArrayAsync());
            }
        }
    }

    [SkippableFact]
    public async Task A_tag_moved_through_one_replica_is_served_moved_by_the_other()
    {
        using var a = _replicas[0].CreateClient();
        using var b = _replicas[1].CreateClient();
        await a.PushImageAsync("replicas/moving", "latest");
        Assert.Equal(HttpStatusCode.OK, (await b.GetAsync("/v2/replicas/moving/manifests/latest")).StatusCode);

        var (_, moved) = await a.PushImageAsync("replicas/moving", "latest");

        var served = await b.GetAsync("/v2/replicas/moving/manifests/latest");
        Assert.Equal(moved, served.Headers.GetValues("Docker-Content-Digest").Single());
    }

    public async Task DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }

        if (PostgreSqlTestServer.Available && S3TestServer.Available)
        {
            NpgsqlConnection.ClearAllPools();
            await PostgreSqlTestServer.DropDatabaseAsync(_database);
            await S3TestServer.DeleteBucketAsync(_bucket);
        }

        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
