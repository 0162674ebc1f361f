using System.Net;
using System.Net.Http.Headers;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>
/// Upload sessions survive a crash: the registry process is killed with SIGKILL in the middle of a
/// chunk, restarted on the same data folder, and the upload resumes from the last acknowledged offset.
/// </summary>
public sealed class CrashRecoveryTests : IAsyncLifetime
{
    private const int ChunkSize = 1024 * 1024;

    private readonly string _data = Path.Combine(Path.GetTempPath(), "registry-crash-tests", Guid.NewGuid().ToString("N"));
    private readonly List<ServerProcess> _servers = [];

    [Fact]
    public async Task Kill_9_mid_chunk_then_restart_resumes_the_upload()
    {
        var blob = OciTestClient.RandomBytes(3 * ChunkSize);
        var first = await StartServerAsync();
        using var client = first.CreateClient();
        var location = (await client.PostAsync("/v2/crash/app/blobs/uploads/", null)).Headers.Location!;
        var patch = await PatchAsync(client, location, new ByteArrayContent(blob, 0, ChunkSize), 0, ChunkSize);
        Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);

        // The second chunk is half sent when the server dies.
        var halfSent = new TaskCompletionSource();
        using var abandon = new CancellationTokenSource();
        var stalled = new StallingContent(blob.AsMemory(ChunkSize, ChunkSize), ChunkSize / 2, halfSent, abandon.Token);
        var interrupted = PatchAsync(client, location, stalled, ChunkSize, ChunkSize);
        await halfSent.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(300);
        await first.KillAsync();
        await abandon.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => interrupted);

        var second = await StartServerAsync();
        using var resumed = second.CreateClient();
        var status = await resumed.GetAsync(location);
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal($"0-{ChunkSize - 1}", status.Header("Range"));

        for (var offset = ChunkSize; offset < blob.Length; offset += ChunkSize)
        {
            var next = await PatchAsync(resumed, location, new ByteArrayContent(blob, offset, ChunkSize), offset, ChunkSize);
            Assert.Equal(HttpStatusCode.Accepted, next.StatusCode);
        }

        var put = await resumed.PutAsync(OciTestClient.WithQuery(location, $"digest={OciTestClient.DigestOf(blob)}"), null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(blob, await resumed.GetByteArrayAsync($"/v2/crash/app/blobs/{OciTestClient.DigestOf(blob)}"));
    }

    [Fact]
    public async Task Restart_keeps_blobs_manifests_and_tags()
    {
        var first = await StartServerAsync();
        using var client = first.CreateClient();
        var (manifest, digest) = await client.PushImageAsync("crash/durable", "v1");
        await first.KillAsync();

        var second = await StartServerAsync();
        using var again = second.CreateClient();

        Assert.Equal(manifest, await again.GetByteArrayAsync("/v2/crash/durable/manifests/v1"));
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync($"/v2/crash/durable/manifests/{digest}")).StatusCode);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        Directory.Delete(_data, recursive: true);
    }

    private async Task<ServerProcess> StartServerAsync()
    {
        var server = new ServerProcess(_data);
        _servers.Add(server);
        await server.StartAsync();
        return server;
    }

    private static Task<HttpResponseMessage> PatchAsync(HttpClient client, Uri location, HttpContent content, int offset, int length)
    {
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.ContentLength = length;
        content.Headers.TryAddWithoutValidation("Content-Range", $"{offset}-{offset + length - 1}");
        return client.PatchAsync(location, content);
    }

    /// <summary>Sends the first part of a body, signals, then never sends the rest.</summary>
    private sealed class StallingContent(ReadOnlyMemory<byte> data, int sendBeforeStall, TaskCompletionSource stalled, CancellationToken abandon) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(data[..sendBeforeStall]);
            await stream.FlushAsync();
            stalled.TrySetResult();
            await Task.Delay(Timeout.Infinite, abandon);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = data.Length;
            return true;
        }
    }
}
