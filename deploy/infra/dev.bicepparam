// Development: one replica is enough (no Redis), short log retention, a basic registry.
// Fill in the three ids (docs/deploy.md, "First deployment") or pass them with -p.
using './main.bicep'

param environmentName = 'dev'
param serverAppId = readEnvironmentVariable('MCP_SERVER_APP_ID', '')
param sentinelWorkspaceId = readEnvironmentVariable('SENTINEL_WORKSPACE_ID', '')
param sentinelWorkspaceResourceId = readEnvironmentVariable('SENTINEL_WORKSPACE_RESOURCE_ID', '')
param minReplicas = 1
param maxReplicas = 1
param registrySku = 'Basic'
param logRetentionDays = 30
param enableWriteTools = false
