# Loads a Vagrantfile with a recording stand-in for Vagrant.configure and prints what it
# configured as JSON: machines, their networks, provider settings and provisioners.
require 'json'

class RecordedProvider
  attr_reader :customizations, :override

  def initialize
    @customizations = []
    @settings = {}
    @override = RecordedConfig.new
  end

  def customize(args)
    @customizations << args.map { |a| a == :id ? '{id}' : a }
  end

  # Any other setting (memory, cpus, name, driver, default_prefix, ...) is recorded as it is.
  def method_missing(name, *args)
    return super unless name.to_s.end_with?('=') && args.length == 1

    @settings[name.to_s.chomp('=')] = args[0]
  end

  def respond_to_missing?(name, include_private = false)
    name.to_s.end_with?('=') || super
  end

  def to_h
    override = { 'box' => @override.vm.box, 'box_version' => @override.vm.box_version }.compact
    @settings.merge('customize' => @customizations, 'override' => override)
  end
end

class RecordedVm
  attr_accessor :box, :box_version, :hostname, :box_check_update
  attr_reader :networks, :provisions, :machines, :synced_folders, :providers

  def initialize
    @networks = []
    @provisions = []
    @machines = {}
    @synced_folders = []
    @providers = {}
  end

  def network(type, **options)
    @networks << { 'type' => type }.merge(options.transform_keys(&:to_s))
  end

  def synced_folder(source, destination, **options)
    @synced_folders << { 'source' => source, 'destination' => destination }.merge(options.transform_keys(&:to_s))
  end

  def provision(type, **options)
    @provisions << { 'type' => type }.merge(options.transform_keys(&:to_s))
  end

  def define(name)
    node = RecordedConfig.new
    yield node
    @machines[name] = node
  end

  # Provider blocks of the same name (the whole lab's, then one VM's) add up, as in Vagrant.
  def provider(name)
    provider = (@providers[name.to_s] ||= RecordedProvider.new)
    yield provider, provider.override
  end

  def to_h
    {
      'box' => @box, 'box_version' => @box_version, 'hostname' => @hostname,
      'networks' => @networks, 'provisions' => @provisions,
      'providers' => @providers.transform_values(&:to_h),
      'synced_folders' => @synced_folders, 'box_check_update' => @box_check_update,
      'machines' => @machines.transform_values { |m| m.vm.to_h }
    }
  end
end

class RecordedConfig
  def vm
    @vm ||= RecordedVm.new
  end
end

module Vagrant
  def self.configure(version)
    raise "unexpected config version #{version}" unless version == '2'

    config = RecordedConfig.new
    yield config
    $recorded = config
  end
end

load ARGV.fetch(0)
puts JSON.pretty_generate($recorded.vm.to_h)
