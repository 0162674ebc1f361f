using System.Globalization;
using System.Text.Json;

namespace Registry.AwsApi;

/// <summary>Reading request members the way the AWS APIs validate them: wrong types and missing required members are InvalidParameterException.</summary>
internal static class AwsCallExtensions
{
    public static string Required(this AwsCall call, string name) =>
        call.Optional(name) ?? throw AwsApiException.InvalidParameter($"{name} is required");

    public static string? Optional(this AwsCall call, string name) =>
        !call.Body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw AwsApiException.InvalidParameter($"{name} must be a string");

    public static bool? OptionalBool(this AwsCall call, string name) =>
        !call.Body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean()
        : throw AwsApiException.InvalidParameter($"{name} must be a boolean");

    /// <summary>maxResults within <paramref name="max"/> (default <paramref name="fallback"/>).</summary>
    public static int MaxResults(this AwsCall call, int max, int fallback)
    {
        if (!call.Body.TryGetProperty("maxResults", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return fallback;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) && n >= 1 && n <= max
            ? n
            : throw AwsApiException.InvalidParameter(string.Create(CultureInfo.InvariantCulture, $"maxResults must be an integer from 1 to {max}"));
    }

    public static IReadOnlyList<JsonElement> Array(this AwsCall call, string name, bool required)
    {
        if (!call.Body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return required ? throw AwsApiException.InvalidParameter($"{name} is required") : [];
        }

        return value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().ToList() : throw AwsApiException.InvalidParameter($"{name} must be a list");
    }

    public static IReadOnlyList<string> Strings(this AwsCall call, string name, bool required) =>
        call.Array(name, required).Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw AwsApiException.InvalidParameter($"{name} must be a list of strings")).ToList();

    /// <summary>Tags as <c>[{"Key": …, "Value": …}]</c> (ECR) or, with lowercase names, <c>[{"key": …, "value": …}]</c> (ECS).</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Tags(this AwsCall call, string name, string keyName = "Key", string valueName = "Value") =>
        call.Array(name, required: false).Select(t =>
            t.ValueKind == JsonValueKind.Object && t.TryGetProperty(keyName, out var key) && key.ValueKind == JsonValueKind.String
                && t.TryGetProperty(valueName, out var value) && value.ValueKind == JsonValueKind.String && key.GetString()!.Length is > 0 and <= 128 && value.GetString()!.Length <= 256
                ? new KeyValuePair<string, string>(key.GetString()!, value.GetString()!)
                : throw AwsApiException.InvalidParameter($"{name} must be a list of {{\"{keyName}\", \"{valueName}\"}} (key 1-128, value 0-256 characters)")).ToList();

    /// <summary>An opaque page token: the last item of the previous page.</summary>
    public static string? PageAfter(this AwsCall call)
    {
        if (call.Optional("nextToken") is not { } token)
        {
            return null;
        }

        try
        {
            return System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(token));
        }
        catch (FormatException)
        {
            throw AwsApiException.InvalidParameter("nextToken is not a token this API returned");
        }
    }

    public static string NextToken(string last) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(last));

    /// <summary>Seconds since the epoch, as the AWS JSON protocols write timestamps.</summary>
    public static double Epoch(DateTime utc) => new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)).ToUnixTimeMilliseconds() / 1000.0;
}
