using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Registry.Agent.Config;
using Registry.Agent.Runtimes;

namespace Registry.Agent.Images;

/// <summary>
/// Pulls images over the OCI distribution API for runtimes that build root filesystems themselves:
/// Basic or Docker-token authentication with the agent's credentials, the platform picked from an
/// index, every manifest and blob checked against its digest, blobs cached by digest under the data
/// directory (written to a temporary file and renamed once verified, so the cache never holds a bad blob).
/// Registries on the loopback interface are reached over http, all others over https.
/// </summary>
public sealed class ImagePuller(HttpClient http, RegistryCredentials credentials, string cacheDirectory)
{
    private const string ManifestTypes =
        "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, " +
        "application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

    private readonly Dictionary<string, AuthenticationHeaderValue> _authorizations = new(StringComparer.Ordinal);

    /// <summary>Pulls <paramref name="image"/>, signing in with <paramref name="login"/> when given (a task's execution role) or else the agent's credentials for its registry.</summary>
    public async Task<PulledImage> PullAsync(string image, CancellationToken cancellationToken, RegistryLogin? login = null)
    {
        var reference = ImageReference.Parse(image);
        var user = login ?? (credentials.For(reference.Registry) is { } c ? new RegistryLogin(c.User, c.Password) : null);
        var source = new Source(reference, RepositoryPath(reference), user is null ? null : Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user.User}:{user.Password}")));
        try
        {
            return await PullAsync(source, image, cancellationToken);
        }
        finally
        {
            // A task's own login (its execution role's) is good for this pull only: its token goes with it.
            if (login is not null)
            {
                _authorizations.Remove(source.AuthorizationKey);
            }
        }
    }

    private async Task<PulledImage> PullAsync(Source source, string image, CancellationToken cancellationToken)
    {
        var reference = source.Reference;
        var (manifest, _) = await ManifestAsync(source, reference.TagOrDigest, cancellationToken);
        if (manifest["manifests"] is JsonArray entries)
        {
            var chosen = entries.Select(e => e!.AsObject()).FirstOrDefault(e => (string?)e["platform"]?["os"] == "linux" && (string?)e["platform"]?["architecture"] == HostArchitecture)
                         ?? throw new ImagePullException($"CannotPullContainerError: {image} has no image for linux/{HostArchitecture}");
            (manifest, _) = await ManifestAsync(source, (string)chosen["digest"]!, cancellationToken);
        }

        var config = JsonNode.Parse(await File.ReadAllBytesAsync(await BlobAsync(source, (string)manifest["config"]!["digest"]!, cancellationToken), cancellationToken))!.AsObject();
        var layers = new List<string>();
        foreach (var layer in manifest["layers"]?.AsArray() ?? [])
        {
            layers.Add(await BlobAsync(source, (string)layer!["digest"]!, cancellationToken));
        }

        return new PulledImage(config, layers);
    }

    private static string HostArchitecture => System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        _ => "amd64",
    };

    private static string RepositoryPath(ImageReference reference) =>
        reference.Registry == "docker.io"
            ? reference.Repository.Contains('/', StringComparison.Ordinal) ? reference.Repository : "library/" + reference.Repository
            : reference.Repository[(reference.Registry.Length + 1)..];

    private async Task<(JsonObject Manifest, string Digest)> ManifestAsync(Source source, string tagOrDigest, CancellationToken cancellationToken)
    {
        var reference = source.Reference;
        using var response = await SendAsync(source, HttpMethod.Get, $"/v2/{source.Repository}/manifests/{tagOrDigest}", ManifestTypes, cancellationToken);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
        var expected = tagOrDigest.StartsWith("sha256:", StringComparison.Ordinal) ? tagOrDigest : response.Headers.TryGetValues("Docker-Content-Digest", out var values) ? values.First() : digest;
        if (expected != digest)
        {
            throw new ImagePullException($"CannotPullContainerError: the manifest of {reference.Repository}:{tagOrDigest} does not match its digest {expected}");
        }

        return (JsonNode.Parse(bytes)?.AsObject() ?? throw new ImagePullException($"CannotPullContainerError: the manifest of {reference.Repository}:{tagOrDigest} is not JSON"), digest);
    }

    /// <summary>The cached blob's path, downloading and verifying it first when it is not cached.</summary>
    private async Task<string> BlobAsync(Source source, string digest, CancellationToken cancellationToken)
    {
        var reference = source.Reference;
        if (!digest.StartsWith("sha256:", StringComparison.Ordinal) || digest.Length != 71 || !digest[7..].All(char.IsAsciiHexDigitLower))
        {
            throw new ImagePullException($"CannotPullContainerError: unsupported digest {digest}");
        }

        var path = Path.Combine(cacheDirectory, "sha256", digest[7..]);
        if (File.Exists(path))
        {
            return path;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            using var response = await SendAsync(source, HttpMethod.Get, $"/v2/{source.Repository}/blobs/{digest}", null, cancellationToken);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            await using (var body = await response.Content.ReadAsStreamAsync(cancellationToken))
            {
                var buffer = new byte[1 << 16];
                int read;
                while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }

                await file.FlushAsync(cancellationToken);
            }

            var actual = "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
            if (actual != digest)
            {
                throw new ImagePullException($"CannotPullContainerError: blob {digest} of {reference.Repository} arrived as {actual}");
            }

            File.Move(temporary, path, overwrite: true);
            return path;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Sends a request, answering a Bearer challenge with a token (or a Basic one with the credentials) once.</summary>
    private async Task<HttpResponseMessage> SendAsync(Source source, HttpMethod method, string path, string? accept, CancellationToken cancellationToken)
    {
        var reference = source.Reference;
        var key = source.AuthorizationKey;
        var scheme = IsLoopback(reference.Registry) ? "http" : "https";
        var uri = new Uri($"{scheme}://{(reference.Registry == "docker.io" ? "registry-1.docker.io" : reference.Registry)}{path}");
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, uri);
            if (accept is not null)
            {
                request.Headers.TryAddWithoutValidation("Accept", accept);
            }

            if (_authorizations.TryGetValue(key, out var authorization))
            {
                request.Headers.Authorization = authorization;
            }

            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            }
            catch (HttpRequestException e)
            {
                throw new ImagePullException($"CannotPullContainerError: {uri.Authority} cannot be reached: {e.Message}", e);
            }

            if (response.StatusCode == HttpStatusCode.Unauthorized && attempt == 0 && response.Headers.WwwAuthenticate.FirstOrDefault() is { } challenge)
            {
                response.Dispose();
                _authorizations[key] = await AnswerAsync(source, challenge, cancellationToken);
                continue;
            }

            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                response.Dispose();
                throw new ImagePullException($"CannotPullContainerError: {method} {uri.AbsolutePath}: {(int)response.StatusCode} {body.Trim()}");
            }

            return response;
        }
    }

    private async Task<AuthenticationHeaderValue> AnswerAsync(Source source, AuthenticationHeaderValue challenge, CancellationToken cancellationToken)
    {
        var reference = source.Reference;
        var basic = source.Basic;
        if (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return basic is null ? throw new ImagePullException($"CannotPullContainerError: {reference.Registry} wants credentials and ECS_ENGINE_AUTH_DATA has none for it") : new AuthenticationHeaderValue("Basic", basic);
        }

        var parameters = ChallengeParameters(challenge.Parameter ?? "");
        if (!parameters.TryGetValue("realm", out var realm))
        {
            throw new ImagePullException($"CannotPullContainerError: {reference.Registry} sent a Bearer challenge without a realm");
        }

        var query = string.Join('&', parameters.Where(p => p.Key is "service" or "scope").Select(p => $"{p.Key}={Uri.EscapeDataString(p.Value)}"));
        using var request = new HttpRequestMessage(HttpMethod.Get, realm + (query.Length > 0 ? "?" + query : ""));
        if (basic is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", basic);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new ImagePullException($"CannotPullContainerError: the token service of {reference.Registry} refused: {(int)response.StatusCode}");
        }

        var token = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return new AuthenticationHeaderValue("Bearer", (string?)token?["token"] ?? (string?)token?["access_token"] ?? throw new ImagePullException("CannotPullContainerError: the token service answered without a token"));
    }

    private static Dictionary<string, string> ChallengeParameters(string text)
    {
        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (System.Text.RegularExpressions.Match match in System.Text.RegularExpressions.Regex.Matches(text, "(\\w+)=\"([^\"]*)\""))
        {
            parameters[match.Groups[1].Value] = match.Groups[2].Value;
        }

        return parameters;
    }

    private static bool IsLoopback(string registry)
    {
        var host = registry.StartsWith('[') ? registry[1..registry.IndexOf(']', StringComparison.Ordinal)] : registry.Split(':')[0];
        return host == "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }

    /// <summary>Where one pull reads from, and the Basic credentials (base64 user:password) it signs in with; authorizations are kept per source.</summary>
    private sealed record Source(ImageReference Reference, string Repository, string? Basic)
    {
        public string AuthorizationKey => $"{Reference.Registry}|{Repository}|{Basic}";
    }
}

/// <summary>A pulled image: its config and its layer blobs (cached files) in order.</summary>
public sealed record PulledImage(JsonObject Config, IReadOnlyList<string> Layers);
