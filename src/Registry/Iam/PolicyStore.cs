using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Auth;
using Registry.Data;
using Registry.Data.Entities;
using Registry.Security.Policies;

namespace Registry.Iam;

/// <summary>What a resource brings to a decision: its resource policies (repository, registry) and its tags.</summary>
internal sealed record ResourceFacts(IReadOnlyList<PolicyDocument> Policies, IReadOnlyList<KeyValuePair<string, string>> Tags);

/// <summary>
/// The policies that apply to requests, parsed once and kept for <see cref="AuthOptions.PolicyCacheSeconds"/>
/// so that authorization costs no database round trip on the hot path. Changes made through this
/// process are seen at once (<see cref="Invalidate"/>); the lifetime bounds how long another replica's
/// change takes to apply here.
/// </summary>
internal sealed partial class PolicyStore(IDbContextFactory<RegistryDbContext> dbFactory, IOptions<AuthOptions> options, IOptions<AwsOptions> aws, TimeProvider clock, ILogger<PolicyStore> logger)
{
    public const string RegistryPolicySetting = "registry-policy";

    /// <summary>What a stored policy that no longer parses becomes: a deny of everything, so a damaged Deny never opens access.</summary>
    private static readonly PolicyDocument DenyAll = new(PolicyDocument.CurrentVersion, null, PolicyKind.Identity, [
        new PolicyStatement(null, Effect.Deny, null, null, new PatternSet(["*"]), null, new PatternSet(["*"]), null, []),
    ]);

    /// <summary>How many users' or repositories' entries are kept before expired ones are swept out.</summary>
    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, Cached> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CachedFacts> _resources = new(StringComparer.Ordinal);

    /// <summary>
    /// Identity policies of a principal: for a user, those attached to it and to its groups; for a role
    /// session, those attached to its role (none once the role is deleted).
    /// </summary>
    public Task<IReadOnlyList<PolicyDocument>> IdentityPoliciesAsync(string userName, CancellationToken cancellationToken) =>
        PrincipalNames.TryGetRole(userName, out var role) ? RolePoliciesAsync(role, cancellationToken) : UserPoliciesAsync(userName, cancellationToken);

    private Task<IReadOnlyList<PolicyDocument>> RolePoliciesAsync(string roleName, CancellationToken cancellationToken) =>
        GetAsync("role:" + roleName, async db =>
        {
            var roleId = await db.Roles.Where(r => r.Name == roleName).Select(r => (long?)r.Id).FirstOrDefaultAsync(cancellationToken);
            if (roleId is null)
            {
                return [];
            }

            var documents = await (from a in db.PolicyAttachments
                                   join p in db.Policies on a.PolicyId equals p.Id
                                   where a.PrincipalKind == PrincipalKind.Role && a.PrincipalId == roleId
                                   select new { p.Name, p.Document }).ToListAsync(cancellationToken);
            return documents.Select(d => Parse(d.Document, PolicyKind.Identity, $"policy {d.Name}")).ToList();
        });

    private Task<IReadOnlyList<PolicyDocument>> UserPoliciesAsync(string userName, CancellationToken cancellationToken) =>
        GetAsync("user:" + userName, async db =>
        {
            var userId = await db.Users.Where(u => u.Name == userName).Select(u => (long?)u.Id).FirstOrDefaultAsync(cancellationToken);
            if (userId is null)
            {
                return [];
            }

            var groups = db.GroupMembers.Where(m => m.UserId == userId).Select(m => m.GroupId);
            var documents = await (from a in db.PolicyAttachments
                                   join p in db.Policies on a.PolicyId equals p.Id
                                   where (a.PrincipalKind == PrincipalKind.User && a.PrincipalId == userId)
                                         || (a.PrincipalKind == PrincipalKind.Group && groups.Contains(a.PrincipalId))
                                   select new { p.Name, p.Document }).Distinct().ToListAsync(cancellationToken);
            return documents.Select(d => Parse(d.Document, PolicyKind.Identity, $"policy {d.Name}")).ToList();
        });

    /// <summary>The repository's policy and the registry policy (those that are set), and the repository's tags for aws:ResourceTag keys.</summary>
    public async Task<ResourceFacts> ResourceFactsAsync(string? repository, CancellationToken cancellationToken)
    {
        var key = "resource:" + repository;
        var now = clock.GetUtcNow();
        if (_resources.TryGetValue(key, out var cached) && cached.Expires > now)
        {
            return cached.Facts;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var policies = new List<PolicyDocument>();
        var tags = new List<KeyValuePair<string, string>>();
        if (repository is not null
            && await db.Repositories.Where(r => r.Name == repository).Select(r => new { r.Policy }).FirstOrDefaultAsync(cancellationToken) is { } found)
        {
            if (found.Policy is not null)
            {
                policies.Add(Parse(found.Policy, PolicyKind.Resource, $"the policy of repository {repository}"));
            }

            var arn = aws.Value.RepositoryArn(repository);
            tags.AddRange((await db.ResourceTags.Where(t => t.ResourceArn == arn).Select(t => new { t.Key, t.Value }).ToListAsync(cancellationToken))
                .Select(t => new KeyValuePair<string, string>(t.Key, t.Value)));
        }

        policies.AddRange(await RegistryPoliciesAsync(cancellationToken));
        var facts = new ResourceFacts(policies, tags);
        Bound(_resources, f => f.Expires, now);
        _resources[key] = new CachedFacts(facts, now + TimeSpan.FromSeconds(options.Value.PolicyCacheSeconds));
        return facts;
    }

    /// <summary>The registry policy (none or one), kept apart from each repository's facts: every repository reads it, the database once.</summary>
    private Task<IReadOnlyList<PolicyDocument>> RegistryPoliciesAsync(CancellationToken cancellationToken) =>
        GetAsync("registry", async db =>
            await db.Settings.Where(s => s.Name == RegistryPolicySetting).Select(s => s.Value).FirstOrDefaultAsync(cancellationToken) is { } registryPolicy
                ? [Parse(registryPolicy, PolicyKind.Resource, "the registry policy")]
                : []);

    /// <summary>Forgets every cached policy (after a change through this process).</summary>
    public void Invalidate()
    {
        _cache.Clear();
        _resources.Clear();
    }

    private async Task<IReadOnlyList<PolicyDocument>> GetAsync(string key, Func<RegistryDbContext, Task<List<PolicyDocument>>> load)
    {
        var now = clock.GetUtcNow();
        if (_cache.TryGetValue(key, out var cached) && cached.Expires > now)
        {
            return cached.Policies;
        }

        await using var db = await dbFactory.CreateDbContextAsync();
        var policies = await load(db);
        Bound(_cache, c => c.Expires, now);
        _cache[key] = new Cached(policies, now + TimeSpan.FromSeconds(options.Value.PolicyCacheSeconds));
        return policies;
    }

    /// <summary>
    /// Keeps a cache from growing with every repository or user ever seen: past <see cref="MaxEntries"/>
    /// the expired entries go, and if all are fresh, everything (it is only a cache).
    /// </summary>
    private static void Bound<T>(ConcurrentDictionary<string, T> cache, Func<T, DateTimeOffset> expires, DateTimeOffset now)
    {
        if (cache.Count < MaxEntries)
        {
            return;
        }

        foreach (var (key, entry) in cache)
        {
            if (expires(entry) <= now)
            {
                cache.TryRemove(key, out _);
            }
        }

        if (cache.Count >= MaxEntries)
        {
            cache.Clear();
        }
    }

    private PolicyDocument Parse(string document, PolicyKind kind, string what)
    {
        try
        {
            return PolicyParser.Parse(document, kind);
        }
        catch (PolicyException e)
        {
            Log.Unparsable(logger, what, e.Message);
            return DenyAll;
        }
    }

    private sealed record Cached(IReadOnlyList<PolicyDocument> Policies, DateTimeOffset Expires);

    private sealed record CachedFacts(ResourceFacts Facts, DateTimeOffset Expires);

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Stored {What} does not parse ({Problem}); it denies everything until replaced")]
        public static partial void Unparsable(ILogger logger, string what, string problem);
    }
}
