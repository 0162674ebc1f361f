using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Registry.Agent.Credentials;

/// <summary>
/// The task-role credentials this agent holds for its tasks, by credentials id. A task's id and
/// authorization token are derived from its ARN with a key kept in ECS_DATADIR, so a restarted agent
/// serves the same ids its running containers were given; both are unguessable without the key, so
/// one task cannot name another's credentials.
/// </summary>
public sealed class TaskCredentials
{
    private const string KeyFile = "task-credentials.key";

    private readonly byte[] _key;
    private readonly ConcurrentDictionary<string, Entry> _byId = new(StringComparer.Ordinal);

    private TaskCredentials(byte[] key) => _key = key;

    /// <summary>The credentials of ECS_DATADIR's key (created, mode 0600, on first use).</summary>
    public static TaskCredentials Load(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, KeyFile);
        if (!File.Exists(path))
        {
            var fresh = Path.Combine(dataDirectory, KeyFile + ".new");
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var file = new FileStream(fresh, options))
            {
                file.Write(RandomNumberGenerator.GetBytes(32));
                file.Flush(flushToDisk: true);
            }

            File.Move(fresh, path, overwrite: false);
        }

        var key = File.ReadAllBytes(path);
        return key.Length == 32 ? new TaskCredentials(key) : throw new InvalidDataException($"{path}: expected 32 bytes");
    }

    /// <summary>The id in the task's credentials URI (<c>/v2/credentials/&lt;id&gt;</c>).</summary>
    public string IdFor(string taskArn) => Convert.ToHexStringLower(Derive("id", taskArn))[..32];

    /// <summary>The AWS_CONTAINER_AUTHORIZATION_TOKEN a host-network task must present.</summary>
    public string TokenFor(string taskArn) => Convert.ToBase64String(Derive("token", taskArn)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Holds the latest credentials of a task's role; <paramref name="tokenRequired"/> for tasks that reach the endpoint by its full URI.</summary>
    public void Set(string taskArn, JsonObject credentials, bool tokenRequired) =>
        _byId[IdFor(taskArn)] = new Entry(taskArn, credentials.DeepClone().AsObject(), tokenRequired ? TokenFor(taskArn) : null);

    public void Remove(string taskArn) => _byId.TryRemove(IdFor(taskArn), out _);

    /// <summary>What the endpoint answers for <paramref name="id"/> presented with <paramref name="authorization"/>.</summary>
    public CredentialsLookup Find(string id, string? authorization)
    {
        if (!_byId.TryGetValue(id, out var entry))
        {
            return new CredentialsLookup(CredentialsResult.NotFound, null);
        }

        if (entry.Token is { } token && !FixedTimeEquals(token, authorization ?? ""))
        {
            return new CredentialsLookup(CredentialsResult.Unauthorized, null);
        }

        var c = entry.Credentials;
        return new CredentialsLookup(CredentialsResult.Found, new JsonObject
        {
            ["RoleArn"] = (string?)c["roleArn"],
            ["AccessKeyId"] = (string?)c["accessKeyId"],
            ["SecretAccessKey"] = (string?)c["secretAccessKey"],
            ["Token"] = (string?)c["sessionToken"],
            ["Expiration"] = (string?)c["expiration"],
        });
    }

    private byte[] Derive(string purpose, string taskArn) => HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(purpose + ":" + taskArn));

    private static bool FixedTimeEquals(string expected, string given) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(given));

    private sealed record Entry(string TaskArn, JsonObject Credentials, string? Token);
}

public enum CredentialsResult
{
    Found,
    NotFound,
    Unauthorized,
}

/// <summary>The endpoint's answer: the credentials in ECS's shape when found and allowed.</summary>
public sealed record CredentialsLookup(CredentialsResult Result, JsonObject? Credentials);
