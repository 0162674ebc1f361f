using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Registry.Agent.Config;
using Registry.Agent.Images;
using Registry.Agent.Runtimes;

namespace Registry.Tests.Agent;

/// <summary>
/// The puller against a registry that answers Basic challenges (a fake at the HTTP seam: the registry
/// itself speaks the token flow, which the agent end-to-end tests cover against the real server).
/// </summary>
public sealed class ImagePullerTests : IDisposable
{
    private const string Registry = "127.0.0.1:5999";
    private static readonly string Basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("puller:s3cret"));

    private readonly string _cache = Directory.CreateTempSubdirectory("blobs-").FullName;
    private readonly BasicRegistry _registry = new();

    public void Dispose()
    {
        Directory.Delete(_cache, recursive: true);
        _registry.Dispose();
    }

    [Fact]
    public async Task Basic_credentials_answer_the_challenge_the_host_platform_is_picked_and_blobs_are_cached()
    {
        var config = _registry.Blob("{\"architecture\":\"amd64\",\"os\":\"linux\"}"u8.ToArray());
        var layer = _registry.Blob([1, 2, 3, 4]);
        var manifest = _registry.Manifest($$"""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"{{config}}","size":1},"layers":[{"digest":"{{layer}}","size":4}]}""");
        var other = _registry.Manifest("""{"schemaVersion":2,"layers":[]}""");
        _registry.Tag("app:1", $$$"""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"{{{other}}}","platform":{"os":"windows","architecture":"{{{Architecture}}}"}},{"digest":"{{{manifest}}}","platform":{"os":"linux","architecture":"{{{Architecture}}}"}}]}""");

        var pulled = await Puller(Credentials()).PullAsync($"{Registry}/app:1", CancellationToken.None);

        Assert.Equal("linux", (string?)pulled.Config["os"]);
        Assert.Equal([1, 2, 3, 4], await File.ReadAllBytesAsync(Assert.Single(pulled.Layers)));
        Assert.Contains(_registry.Requests, r => r.Authorization == null);
        Assert.All(_registry.Requests.Where(r => r.Authorization != null), r => Assert.Equal("Basic " + Basic, r.Authorization));
        Assert.DoesNotContain(_registry.Requests, r => r.Path.EndsWith(other, StringComparison.Ordinal));

        _registry.Requests.Clear();
        await Puller(Credentials()).PullAsync($"{Registry}/app:1", CancellationToken.None);
        Assert.DoesNotContain(_registry.Requests, r => r.Path.Contains("/blobs/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_credentials_for_the_registry_the_pull_fails_saying_so()
    {
        _registry.Tag("app:1", """{"schemaVersion":2,"layers":[]}""");

        var error = await Assert.ThrowsAsync<ImagePullException>(() => Puller(RegistryCredentials.None).PullAsync($"{Registry}/app:1", CancellationToken.None));

        Assert.Equal($"CannotPullContainerError: {Registry} wants credentials and ECS_ENGINE_AUTH_DATA has none for it", error.Message);
    }

    [Fact]
    public async Task A_blob_that_does_not_match_its_digest_is_refused_and_not_cached()
    {
        var config = _registry.Blob("{}"u8.ToArray());
        var layer = _registry.Blob([9, 9, 9]);
        _registry.Corrupt(layer);
        _registry.Tag("app:1", $$"""{"schemaVersion":2,"config":{"digest":"{{config}}","size":2},"layers":[{"digest":"{{layer}}","size":3}]}""");

        var error = await Assert.ThrowsAsync<ImagePullException>(() => Puller(Credentials()).PullAsync($"{Registry}/app:1", CancellationToken.None));

        Assert.Contains($"blob {layer} of {Registry}/app arrived as sha256:", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_cache, "sha256", layer[7..])));
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(_cache, "sha256")), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_manifest_that_does_not_match_the_digest_it_was_asked_by_is_refused()
    {
        var digest = _registry.Manifest("""{"schemaVersion":2,"layers":[]}""");
        _registry.Corrupt(digest);

        var error = await Assert.ThrowsAsync<ImagePullException>(() => Puller(Credentials()).PullAsync($"{Registry}/app@{digest}", CancellationToken.None));

        Assert.Contains("does not match its digest", error.Message, StringComparison.Ordinal);
    }

    private static string Architecture => System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "arm64" : "amd64";

    private static RegistryCredentials Credentials() =>
        RegistryCredentials.Parse("docker", JsonSerializer.Serialize(new Dictionary<string, object> { [Registry] = new { username = "puller", password = "s3cret" } }));

    private ImagePuller Puller(RegistryCredentials credentials) => new(new HttpClient(_registry, disposeHandler: false), credentials, _cache);

    /// <summary>A registry holding one repository, <c>app</c>, that wants Basic credentials on every request.</summary>
    private sealed class BasicRegistry : HttpMessageHandler
    {
        private readonly Dictionary<string, byte[]> _content = new(StringComparer.Ordinal);

        public List<(string Path, string? Authorization)> Requests { get; } = [];

        public string Blob(byte[] bytes) => Put("blobs", bytes);

        public string Manifest(string json) => Put("manifests", Encoding.UTF8.GetBytes(json));

        public void Tag(string reference, string json) => _content["/v2/app/manifests/" + reference.Split(':')[1]] = Encoding.UTF8.GetBytes(json);

        /// <summary>Serves other bytes under the digest.</summary>
        public void Corrupt(string digest)
        {
            foreach (var key in _content.Keys.Where(k => k.EndsWith(digest, StringComparison.Ordinal)).ToList())
            {
                _content[key] = [.. _content[key], 0];
            }
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            Requests.Add((path, request.Headers.Authorization?.ToString()));
            if (request.Headers.Authorization?.ToString() != "Basic " + Basic)
            {
                var challenge = new HttpResponseMessage(HttpStatusCode.Unauthorized);
                challenge.Headers.WwwAuthenticate.Add(new AuthenticationHeaderValue("Basic", "realm=\"test\""));
                return Task.FromResult(challenge);
            }

            return Task.FromResult(_content.TryGetValue(path, out var bytes)
                ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(bytes) }
                : new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("""{"errors":[{"code":"MANIFEST_UNKNOWN"}]}""") });
        }

        private string Put(string kind, byte[] bytes)
        {
            var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
            _content[$"/v2/app/{kind}/{digest}"] = bytes;
            return digest;
        }
    }
}
