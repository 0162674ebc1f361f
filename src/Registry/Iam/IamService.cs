using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Registry.Auth;
using Registry.Data;
using Registry.Data.Entities;
using Registry.Security.Policies;
using Registry.Security.Secrets;

namespace Registry.Iam;

/// <summary>
/// Users, access keys, groups, roles, managed policies and their attachments, and the repository and
/// registry policies: what <c>registry admin</c> and the admin API change. Every change is durable
/// before it returns and applies to this process's next request at once.
/// </summary>
internal sealed partial class IamService(
    IDbContextFactory<RegistryDbContext> dbFactory,
    ICommitDurability durability,
    PolicyStore policies,
    SecretSealer secrets,
    TimeProvider clock)
{
    public const string AdministratorPolicy = "AdministratorAccess";
    public const string AdministratorDocument = """{"Version":"2012-10-17","Statement":[{"Sid":"AllowEverything","Effect":"Allow","Action":"*","Resource":"*"}]}""";

    public async Task CreateUserAsync(string name, string? password, CancellationToken cancellationToken)
    {
        ValidateName(name, "user name", 64);
        await MutateAsync(async db =>
        {
            if (await db.Users.AnyAsync(u => u.Name == name, cancellationToken))
            {
                throw IamException.AlreadyExists($"user {name}");
            }

            db.Users.Add(new UserEntity { Name = name, PasswordHash = password is { Length: > 0 } ? PasswordHasher.Hash(password) : "", CreatedAt = Now });
            await db.SaveChangesAsync(cancellationToken);
        });
    }

    public async Task SetPasswordAsync(string name, string password, CancellationToken cancellationToken)
    {
        if (password.Length < 8)
        {
            throw IamException.Invalid("a password needs at least 8 characters");
        }

        await MutateAsync(async db =>
        {
            if (await db.Users.Where(u => u.Name == name).ExecuteUpdateAsync(s => s.SetProperty(u => u.PasswordHash, PasswordHasher.Hash(password)), cancellationToken) == 0)
            {
                throw IamException.NoSuchEntity($"user {name}");
            }
        });
    }

    public Task DeleteUserAsync(string name, CancellationToken cancellationToken) =>
        MutateAsync(async db =>
        {
            var id = await UserIdAsync(db, name, cancellationToken);
            await db.PolicyAttachments.Where(a => a.PrincipalKind == PrincipalKind.User && a.PrincipalId == id).ExecuteDeleteAsync(cancellationToken);
            await db.Users.Where(u => u.Id == id).ExecuteDeleteAsync(cancellationToken);
        });

    public async Task<List<string>> ListUsersAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Users.OrderBy(u => u.Name).Select(u => u.Name).ToListAsync(cancellationToken);
    }

    /// <summary>Creates an access key for a user; the secret is returned this once and stored only sealed.</summary>
    public async Task<(string Id, string Secret)> CreateAccessKeyAsync(string userName, CancellationToken cancellationToken)
    {
        var id = "AKIA" + RandomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
        var secret = RandomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
        await MutateAsync(async db =>
        {
            var userId = await UserIdAsync(db, userName, cancellationToken);
            db.AccessKeys.Add(new AccessKeyEntity { Id = id, UserId = userId, SealedSecret = secrets.Seal(secret, id), Status = "Active", CreatedAt = Now });
            await db.SaveChangesAsync(cancellationToken);
        });
        return (id, secret);
    }

    public async Task<List<(string Id, string Status, DateTime CreatedAt)>> ListAccessKeysAsync(string userName, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var userId = await UserIdAsync(db, userName, cancellationToken);
        var keys = await db.AccessKeys.Where(k => k.UserId == userId).OrderBy(k => k.CreatedAt).Select(k => new { k.Id, k.Status, k.CreatedAt }).ToListAsync(cancellationToken);
        return keys.Select(k => (k.Id, k.Status, k.CreatedAt)).ToList();
    }

    public Task SetAccessKeyStatusAsync(string userName, string keyId, bool active, CancellationToken cancellationToken) =>
        MutateAsync(async db =>
        {
            var userId = await UserIdAsync(db, userName, cancellationToken);
            if (await db.AccessKeys.Where(k => k.Id == keyId && k.UserId == userId).ExecuteUpdateAsync(s => s.SetProperty(k => k.Status, active ? "Active" : "Inactive"), cancellationToken) == 0)
            {
                throw IamException.NoSuchEntity($"access key {keyId} of user {userName}");
            }
        });

    public Task DeleteAccessKeyAsync(string userName, string keyId, CancellationToken cancellationToken) =>
        MutateAsync(async db =>
        {
            var userId = await UserIdAsync(db, userName, cancellationToken);
            if (await db.AccessKeys.Where(k => k.Id == keyId && k.UserId == userId).ExecuteDeleteAsync(cancellationToken) == 0)
            {
                throw IamException.NoSuchEntity($"access key {keyId} of user {userName}");
            }
        });

    public async Task CreateGroupAsync(string name, CancellationToken cancellationToken)
    {
        ValidateName(name, "group name", 128);
        await MutateAsync(async db =>
        {
            if (await db.Groups.AnyAsync(g => g.Name == name, cancellationToken))
            {
                throw IamException.AlreadyExists($"group {name}");
            }

            db.Groups.Add(new GroupEntity { Name = name, CreatedAt = Now });
            await db.SaveChangesAsync(cancellationToken);
        });
    }

    public Task DeleteGroupAsync(string name, CancellationToken cancellationToken) =>
        MutateAsync(async db =>
        {
            var id = await GroupIdAsync(db, name, cancellationToken);
            await db.PolicyAttachments.Where(a => a.PrincipalKind == PrincipalKind.Group && a.PrincipalId == id).ExecuteDeleteAsync(cancellationToken);
            await db.Groups.Where(g => g.Id == id).ExecuteDeleteAsync(cancellationToken);
        });

    public async Task<List<string>> ListGroupsAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Groups.OrderBy(g => g.Name).Select(g => g.Name).ToListAsync(cancellationToken);
    }

    public Task AddUserToGroupAsync(string groupName, string userName, CancellationToken cancellationToken) =>
        MutateAsync(async db =>
        {
            var groupId = await GroupIdAsync(db, groupName, cancellationToken);
            var userId = await UserIdAsync(db, userName, cancellationToken);
            if (!await db.GroupMembers.AnyAsync(m => m.GroupId == groupId && m.UserId == userId, cancellationToken))
            {
                db.GroupMembers.Add(new GroupMemberEntity { GroupId = groupId, UserId = userId });
                await db.SaveChangesAsync(cancellationToken);
            }
        });

    public Task RemoveUserFromGroupAsync(string groupName, string userName, CancellationToken cancellationToken) =>
        MutateAsync(async db =>
        {
            var groupId = await GroupIdAsync(db, groupName, cancellationToken);
            var userId = await UserIdAsync(db, userName, cancellationToken);
            if (await db.GroupMembers.Where(m => m.GroupId == groupId && m.UserId == userId).ExecuteDeleteAsync(cancellationToken) == 0)
            {
                throw IamException.NoSuchEntity($"membership of user {userName} in group {groupName}");
            }
        });

    public async Task CreateRoleAsync(string name, string? trustPolicy, CancellationToken cancellationToken)
    {
        ValidateName(name, "role name", 64);
        if (trustPolicy is not null)
        {
            ParsePolicy(trustPolicy, PolicyKind.Resource);
        }

        await MutateAsync(async db =>
        {
            if (await db.Roles.AnyAsync(r => r.Name == name, cancellationToken))
            {
                throw IamException.AlreadyExists($"role {name}");
            }

            db.Roles.Add(new RoleEntity { Name = name, TrustPolicy = trustPolicy, CreatedAt = Now });
            await db.SaveChangesAsync(cancellationToken);
        });
    }

    public Task DeleteRoleAsync(string name, CancellationToken cancellationToken) =>
        MutateAsync(async db =>
        {
            var id = await RoleIdAsync(db, name, cancellationToken);
            await db.PolicyAttachments.Where(a => a.PrincipalKind == PrincipalKind.Role && a.PrincipalId == id).ExecuteDeleteAsync(cancellationToken);
            await db.Roles.Where(r => r.Id == id).ExecuteDeleteAsync(cancellationToken);
        });

    public async Task<List<string>> ListRolesAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Roles.OrderBy(r => r.Name).Select(r => r.Name).ToListAsync(cancellationToken);
    }

    /// <summary>Creates a managed policy, or with <paramref name="replace"/> replaces the document of an existing one.</summary>
    public async Task PutPolicyAsync(string name, string document, bool replace, CancellationToken cancellationToken)
    {
        ValidateName(name, "policy name", 128);
        ParsePolicy(document, PolicyKind.Identity);
        await MutateAsync(async db =>
        {
            var existing = await db.Policies.FirstOrDefaultAsync(p => p.Name == name, cancellationToken);
            if (existing is not null && !replace)
            {
                throw IamException.AlreadyExists($"policy {name}");
            }

            if (existing is null)
            {
                db.Policies.Add(new ManagedPolicyEntity { Name = name, Document = document, CreatedAt = Now, UpdatedAt = Now });
            }
            else
            {
                existing.Document = document;
                existing.UpdatedAt = Now;
            }

            await db.SaveChangesAsync(cancellationToken);
        });
    }

    public async Task<string> GetPolicyAsync(string name, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Policies.Where(p => p.Name == name).Select(p => p.Document).FirstOrDefaultAsync(cancellationToken)
               ?? throw IamException.NoSuchEntity($"policy {name}");
    }

    public async Task<List<string>> ListPoliciesAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Policies.OrderBy(p => p.Name).Select(p => p.Name).ToListAsync(cancellationToken);
    }

    public Task DeletePolicyAsync(string name, CancellationToken cancellationToken) =>
        MutateAsync(async db =>
        {
            if (await db.Policies.Where(p => p.Name == name).ExecuteDeleteAsync(cancellationToken) == 0)
            {
                throw IamException.NoSuchEntity($"policy {name}");
            }
        });

    public Task AttachPolicyAsync(string policyName, PrincipalKind kind, string principalName, CancellationToken cancellationToken) =>
        MutateAsync(async db =>
        {
            var policyId = await PolicyIdAsync(db, policyName, cancellationToken);
            var principalId = await PrincipalIdAsync(db, kind, principalName, cancellationToken);
            if (!await db.PolicyAttachments.AnyAsync(a => a.PolicyId == policyId && a.PrincipalKind == kind && a.PrincipalId == principalId, cancellationToken))
            {
                db.PolicyAttachments.Add(new PolicyAttachmentEntity { PolicyId = policyId, PrincipalKind = kind, PrincipalId = principalId });
                await db.SaveChangesAsync(cancellationToken);
            }
        });

    public Task DetachPolicyAsync(string policyName, PrincipalKind kind, string principalName, CancellationToken cancellationToken) =>
        MutateAsync(async db =>
        {
            var policyId = await PolicyIdAsync(db, policyName, cancellationToken);
            var principalId = await PrincipalIdAsync(db, kind, principalName, cancellationToken);
            if (await db.PolicyAttachments.Where(a => a.PolicyId == policyId && a.PrincipalKind == kind && a.PrincipalId == principalId).ExecuteDeleteAsync(cancellationToken) == 0)
            {
                throw IamException.NoSuchEntity($"attachment of policy {policyName} to {kind.ToString().ToLowerInvariant()} {principalName}");
            }
        });

    /// <summary>The names of the policies attached to a user, group or role.</summary>
    public async Task<List<string>> ListAttachedPoliciesAsync(PrincipalKind kind, string principalName, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var principalId = await PrincipalIdAsync(db, kind, principalName, cancellationToken);
        return await (from a in db.PolicyAttachments
                      join p in db.Policies on a.PolicyId equals p.Id
                      where a.PrincipalKind == kind && a.PrincipalId == principalId
                      orderby p.Name
                      select p.Name).ToListAsync(cancellationToken);
    }

    /// <summary>Sets (a document) or removes (null) a repository's policy; the repository must exist.</summary>
    public async Task SetRepositoryPolicyAsync(string repository, string? document, CancellationToken cancellationToken)
    {
        if (document is not null)
        {
            ParsePolicy(document, PolicyKind.Resource);
        }

        await MutateAsync(async db =>
        {
            if (await db.Repositories.Where(r => r.Name == repository).ExecuteUpdateAsync(s => s.SetProperty(r => r.Policy, document), cancellationToken) == 0)
            {
                throw new IamException("RepositoryNotFoundException", $"repository {repository} does not exist", 404);
            }
        });
    }

    public async Task<string?> GetRepositoryPolicyAsync(string repository, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var found = await db.Repositories.Where(r => r.Name == repository).Select(r => new { r.Policy }).FirstOrDefaultAsync(cancellationToken)
                    ?? throw new IamException("RepositoryNotFoundException", $"repository {repository} does not exist", 404);
        return found.Policy;
    }

    /// <summary>Sets (a document) or removes (null) the registry policy, a resource policy over every repository.</summary>
    public async Task SetRegistryPolicyAsync(string? document, CancellationToken cancellationToken)
    {
        if (document is not null)
        {
            ParsePolicy(document, PolicyKind.Resource);
        }

        await MutateAsync(async db =>
        {
            await db.Settings.Where(s => s.Name == PolicyStore.RegistryPolicySetting).ExecuteDeleteAsync(cancellationToken);
            if (document is not null)
            {
                db.Settings.Add(new RegistrySettingEntity { Name = PolicyStore.RegistryPolicySetting, Value = document, UpdatedAt = Now });
                await db.SaveChangesAsync(cancellationToken);
            }
        });
    }

    public async Task<string?> GetRegistryPolicyAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Settings.Where(s => s.Name == PolicyStore.RegistryPolicySetting).Select(s => s.Value).FirstOrDefaultAsync(cancellationToken);
    }

    /// <summary>
    /// Makes sure the AdministratorAccess policy exists and, when nothing is attached to anyone yet (a
    /// fresh registry, or one from before policies), attaches it to <paramref name="adminUser"/> if that user exists.
    /// </summary>
    public Task EnsureAdministratorAsync(string adminUser, CancellationToken cancellationToken) =>
        MutateAsync(async db =>
        {
            var policy = await db.Policies.FirstOrDefaultAsync(p => p.Name == AdministratorPolicy, cancellationToken);
            if (policy is null)
            {
                policy = new ManagedPolicyEntity { Name = AdministratorPolicy, Document = AdministratorDocument, CreatedAt = Now, UpdatedAt = Now };
                db.Policies.Add(policy);
                await db.SaveChangesAsync(cancellationToken);
            }

            var adminId = await db.Users.Where(u => u.Name == adminUser).Select(u => (long?)u.Id).FirstOrDefaultAsync(cancellationToken);
            if (adminId is not null && !await db.PolicyAttachments.AnyAsync(cancellationToken))
            {
                db.PolicyAttachments.Add(new PolicyAttachmentEntity { PolicyId = policy.Id, PrincipalKind = PrincipalKind.User, PrincipalId = adminId.Value });
                await db.SaveChangesAsync(cancellationToken);
            }
        });

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    private static PolicyDocument ParsePolicy(string document, PolicyKind kind)
    {
        try
        {
            return PolicyParser.Parse(document, kind);
        }
        catch (PolicyException e)
        {
            throw new IamException("MalformedPolicyDocument", e.Message, 400);
        }
    }

    private static void ValidateName(string name, string what, int maxLength)
    {
        if (name.Length is 0 || name.Length > maxLength || !NamePattern().IsMatch(name))
        {
            throw IamException.Invalid($"{what} '{name}' must be 1 to {maxLength} letters, digits or +=,.@_-");
        }
    }

    private async Task MutateAsync(Func<RegistryDbContext, Task> change)
    {
        await using (var db = await dbFactory.CreateDbContextAsync())
        {
            await change(db);
        }

        await durability.EnsureDurableAsync(CancellationToken.None);
        policies.Invalidate();
    }

    private static async Task<long> UserIdAsync(RegistryDbContext db, string name, CancellationToken cancellationToken) =>
        await db.Users.Where(u => u.Name == name).Select(u => (long?)u.Id).FirstOrDefaultAsync(cancellationToken) ?? throw IamException.NoSuchEntity($"user {name}");

    private static async Task<long> GroupIdAsync(RegistryDbContext db, string name, CancellationToken cancellationToken) =>
        await db.Groups.Where(g => g.Name == name).Select(g => (long?)g.Id).FirstOrDefaultAsync(cancellationToken) ?? throw IamException.NoSuchEntity($"group {name}");

    private static async Task<long> RoleIdAsync(RegistryDbContext db, string name, CancellationToken cancellationToken) =>
        await db.Roles.Where(r => r.Name == name).Select(r => (long?)r.Id).FirstOrDefaultAsync(cancellationToken) ?? throw IamException.NoSuchEntity($"role {name}");

    private static async Task<long> PolicyIdAsync(RegistryDbContext db, string name, CancellationToken cancellationToken) =>
        await db.Policies.Where(p => p.Name == name).Select(p => (long?)p.Id).FirstOrDefaultAsync(cancellationToken) ?? throw IamException.NoSuchEntity($"policy {name}");

    private static Task<long> PrincipalIdAsync(RegistryDbContext db, PrincipalKind kind, string name, CancellationToken cancellationToken) => kind switch
    {
        PrincipalKind.User => UserIdAsync(db, name, cancellationToken),
        PrincipalKind.Group => GroupIdAsync(db, name, cancellationToken),
        _ => RoleIdAsync(db, name, cancellationToken),
    };

    private static string RandomString(int length, string alphabet) =>
        string.Create(length, alphabet, static (span, chars) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = chars[RandomNumberGenerator.GetInt32(chars.Length)];
            }
        });

    [GeneratedRegex(@"^[\w+=,.@-]+$")]
    private static partial Regex NamePattern();
}
