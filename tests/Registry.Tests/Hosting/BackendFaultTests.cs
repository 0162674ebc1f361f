using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Npgsql;
using Registry.Tests.Support;

namespace Registry.Tests.Hosting;

/// <summary>
/// The blob store or the database going away under a running registry: 503 with the OCI error JSON,
/// nothing acknowledged is lost, an upload resumes where it was, and service comes back without a
/// restart. The backends are the real test servers behind a proxy the tests cut.
/// </summary>
public sealed class BackendFaultTests : IAsyncLifetime
{
    private readonly string _bucket = S3TestServer.NewBucketName();
    private readonly string _database = "registry_faults_" + Guid.NewGuid().ToString("N");
    private FaultyRegistry? _registry;

    public BackendFaultTests()
    {
        PostgreSqlTestServer.SkipUnlessAvailable();
        S3TestServer.SkipUnlessAvailable();
    }

    // Disposed in DisposeAsync (IAsyncLifetime).
    private TcpFaultProxy? S3Proxy { get; set; }

    private TcpFaultProxy? DatabaseProxy { get; set; }

    public async Task InitializeAsync()
    {
        if (!PostgreSqlTestServer.Available || !S3TestServer.Available)
        {
            return;
        }

        var s3 = new Uri(S3TestServer.Url!);
        S3Proxy = new TcpFaultProxy(s3.Host, s3.Port);
        var database = new NpgsqlConnectionStringBuilder(await PostgreSqlTestServer.CreateDatabaseAsync(_database));
        DatabaseProxy = new TcpFaultProxy(database.Host!, database.Port);
        database.Port = DatabaseProxy.Port;
        _registry = new FaultyRegistry(database.ConnectionString, $"http://127.0.0.1:{S3Proxy.Port}", _bucket);
        await _registry.InitializeAsync();
    }

    [SkippableFact]
    public async Task Blob_store_down_mid_upload_is_503_and_the_upload_resumes_once_it_is_back()
    {
        using var client = _registry!.CreateClient();
        var first = OciTestClient.RandomBytes(3 * 1024 * 1024);
        var second = OciTestClient.RandomBytes(2 * 1024 * 1024 + 5);
        var start = await client.PostAsync("/v2/faults/upload/blobs/uploads/", null);
        var location = (await PatchAsync(client, start.Headers.Location!, first, 0)).Headers.Location!;

        S3Proxy!.Down();
        var failed = await PatchAsync(client, location, second, first.Length);
        await AssertUnavailableAsync(failed, "blob store");
        var status = await client.GetAsync(location);
        Assert.Equal($"0-{first.Length - 1}", status.Headers.GetValues("Range").Single());

        S3Proxy.Up();
        var resumed = await PatchAsync(client, location, second, first.Length);
        Assert.Equal(HttpStatusCode.Accepted, resumed.StatusCode);
        byte[] content = [.. first, .. second];
        var digest = OciTestClient.DigestOf(content);
        var put = await client.PutAsync(OciTestClient.WithQuery(resumed.Headers.Location!, $"digest={digest}"), null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(content, await client.GetByteArrayAsync($"/v2/faults/upload/blobs/{digest}"));
    }

    [SkippableFact]
    public async Task Database_down_is_503_and_service_recovers_without_a_restart()
    {
        using var client = _registry!.CreateClient();
        var (manifest, _) = await client.PushImageAsync("faults/database", "v1");

        DatabaseProxy!.Down();
        var failed = await GetManifestAsync(client);
        await AssertUnavailableAsync(failed, "metadata database");

        DatabaseProxy.Up();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        HttpResponseMessage recovered;
        do
        {
            recovered = await GetManifestAsync(client);
        }
        while (recovered.StatusCode != HttpStatusCode.OK && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
        Assert.Equal(manifest, await recovered.Content.ReadAsByteArrayAsync());
    }

    public async Task DisposeAsync()
    {
        if (_registry is null)
        {
            return;
        }

        await _registry.DisposeAsync();
        await S3Proxy!.DisposeAsync();
        await DatabaseProxy!.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await PostgreSqlTestServer.DropDatabaseAsync(_database);
        await S3TestServer.DeleteBucketAsync(_bucket);
    }

    private static async Task<HttpResponseMessage> PatchAsync(HttpClient client, Uri location, byte[] chunk, long offset)
    {
        var body = new ByteArrayContent(chunk);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        body.Headers.TryAddWithoutValidation("Content-Range", string.Create(CultureInfo.InvariantCulture, $"{offset}-{offset + chunk.Length - 1}"));
        return await client.PatchAsync(location, body);
    }

    private static Task<HttpResponseMessage> GetManifestAsync(HttpClient client)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v2/faults/database/manifests/v1");
        request.Headers.Accept.ParseAdd(OciTestClient.OciManifest);
        return client.SendAsync(request);
    }

    private static async Task AssertUnavailableAsync(HttpResponseMessage response, string backend)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var first = error.RootElement.GetProperty("errors")[0];
        Assert.Equal("UNAVAILABLE", first.GetProperty("code").GetString());
        Assert.Contains(backend, first.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    /// <summary>The in-process registry over PostgreSQL and S3, both reached through the proxies.</summary>
    private sealed class FaultyRegistry : RegistryFixture
    {
        public FaultyRegistry(string connectionString, string s3Url, string bucket)
        {
            Settings["Database:Type"] = "postgresql";
            Settings["Database:ConnectionString"] = connectionString;
            Settings["Storage:Type"] = "s3";
            Settings["Storage:S3:ServiceUrl"] = s3Url;
            Settings["Storage:S3:AccessKey"] = S3TestServer.AccessKey;
            Settings["Storage:S3:SecretKey"] = S3TestServer.SecretKey;
            Settings["Storage:S3:Bucket"] = bucket;
            Settings["Storage:S3:CreateBucket"] = "true";
        }
    }
}
