using System.Text.Json;
using Registry.Security.SigV4;

namespace Registry.Tests.Support;

/// <summary>Calls an AWS JSON API (ECR by default, or ECS) in process, signed with SigV4 (the signer checked against AWS's published examples).</summary>
public sealed class AwsJsonTestClient(HttpClient http, string accessKeyId, string secret, string service = "ecr", string targetPrefix = AwsJsonTestClient.EcrTargetPrefix, string? sessionToken = null)
{
    public const string EcrTargetPrefix = "AmazonEC2ContainerRegistry_V20150921.";
    public const string EcsTargetPrefix = "AmazonEC2ContainerServiceV20141113.";
    private const string Region = "us-east-1";

    /// <summary>Sends an operation; returns the status and the parsed body.</summary>
    public async Task<(int Status, JsonElement Body)> CallAsync(string operation, object request, DateTimeOffset? signedAt = null, Action<HttpRequestMessage>? tamper = null)
    {
        var message = Sign(operation, JsonSerializer.Serialize(request), signedAt ?? DateTimeOffset.UtcNow, Guid.NewGuid().ToString());
        tamper?.Invoke(message);
        var response = await http.SendAsync(message);
        var text = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(text.Length == 0 ? "{}" : text);
        return ((int)response.StatusCode, json.RootElement.Clone());
    }

    /// <summary>
    /// A signed request, for tests that replay or alter it. Like the AWS SDKs, each invocation carries a
    /// signed <c>amz-sdk-invocation-id</c>, so two calls never share a signature unless one is a replay.
    /// </summary>
    public HttpRequestMessage Sign(string operation, string body, DateTimeOffset signedAt, string? invocationId) =>
        new SigV4Signer(accessKeyId, secret, Region, service, sessionToken).JsonCall(http.BaseAddress!.Authority, targetPrefix + operation, body, signedAt, invocationId);
}
