# frozen_string_literal: true

# The SketchUp adapter (host/) against the stubs in test/stubs: settings storage, the
# Sketchup::Http transport and its timer timeout, view capture, and the panel's whole flow —
# offline with canned answers, and against a real tds server when TDS_TEST_* are set.

require_relative 'test_helper'
require 'tmpdir'
$LOAD_PATH.unshift(File.join(__dir__, 'stubs'))
require 'sketchup.rb'
require File.join(SKETCHUP_SRC, 'tds_render', 'main')

module HostTestHelpers
  Core = Tds::Render::Core
  Host = Tds::Render::Host
  Http = Sketchup::Http

  def setup
    Sketchup.reset_stubs
    UI.reset_stubs
    Http::Request.handler = nil
    Http::Request.instances.clear
    @dir = Dir.mktmpdir('tds-sketchup')
    @png = TdsTest.vector('render_request')['body']['image_base64'].unpack1('m0')
    Sketchup.active_model.active_view.png = @png
  end

  def teardown
    Http::Request.handler = nil
    FileUtils.remove_entry(@dir)
  end

  def answer(status, body, headers = {})
    Http::Response.new(status, headers, body.is_a?(String) ? body : JSON.generate(body))
  end

  def vector_answer(name)
    data = TdsTest.vector(name)
    answer(data['status'], data['body'], data['headers'] || {})
  end

  def new_app(key: 'tds_live_key', server: 'https://render.example.com')
    store = Host::SettingsStore.new
    store.save(Core::Settings.new({ 'server_url' => server, 'resolution' => '1k' }, key))
    app = Host::App.new(store: store)
    app.show
    app
  end

  def dialog
    UI.dialogs.last
  end
end

class SettingsStoreTest < Minitest::Test
  include HostTestHelpers

  def test_settings_round_trip_through_sketchup_defaults
    store = Host::SettingsStore.new
    settings = Core::Settings.new({ 'prompt' => %(a "quoted" \\ prompt, é), 'lighting' => 'Night' }, 'tds_live_secret')
    store.save(settings)
    loaded = store.load
    assert_equal settings.to_h, loaded.to_h
    assert_equal 'tds_live_secret', loaded.api_key
  end

  def test_the_key_is_stored_apart_and_never_in_the_model
    Host::SettingsStore.new.save(Core::Settings.new({}, 'tds_live_secret'))
    blob = Sketchup.defaults.fetch(%w[Tds_Render settings])
    refute_includes blob.unpack1('m0'), 'tds_live_secret'
    assert_equal 'tds_live_secret', Sketchup.defaults.fetch(%w[Tds_Render api_key])
    assert_empty Sketchup.active_model.attributes
  end

  def test_the_project_code_is_not_a_preference
    Host::SettingsStore.new.save(Core::Settings.new({ 'project' => 'Harbour Lofts' }, 'k'))
    assert_nil Host::SettingsStore.new.load.project
    refute_includes Sketchup.defaults.fetch(%w[Tds_Render settings]).unpack1('m0'), 'Harbour Lofts'
  end

  def test_garbage_in_the_defaults_gives_the_defaults
    Sketchup.write_default('Tds_Render', 'settings', '%%%')
    assert_equal Core::Settings.new.to_h, Host::SettingsStore.new.load.to_h
  end
end

class HttpTransportTest < Minitest::Test
  include HostTestHelpers

  def request(timeout: 30)
    Core::Request.new(method: :post, url: 'https://render.example.com/api/v1/renders',
                      headers: { 'Authorization' => 'Bearer k' }, body: '{}', timeout: timeout)
  end

  def test_an_answer_becomes_a_core_response
    Http::Request.handler = ->(_) { answer(402, '{"error":{}}', 'Retry-After' => '3') }
    transport = Host::HttpTransport.new
    responses = []
    transport.call(request) { |response| responses << response }
    assert_equal 402, responses.first.status
    assert_equal 3.0, responses.first.retry_after
    sent = Http::Request.instances.last
    assert_equal ['POST', '{}', 'Bearer k'], [sent.method, sent.body, sent.headers['Authorization']]
    assert_equal 0, transport.pending_count
    assert_empty UI.timers, 'the timeout timer must be stopped'
  end

  def test_no_connection_is_a_network_failure
    Http::Request.handler = ->(_) { answer(0, '') }
    responses = []
    Host::HttpTransport.new.call(request) { |response| responses << response }
    assert_equal :network, responses.first.error
  end

  def test_a_request_without_an_answer_times_out_on_a_timer
    Http::Request.handler = ->(_) { nil } # still pending
    transport = Host::HttpTransport.new
    responses = []
    transport.call(request(timeout: 90)) { |response| responses << response }
    assert_empty responses
    assert_equal 1, transport.pending_count, 'a pending request must stay referenced'
    assert_equal [90], UI.timers.values.map(&:first)
    UI.fire_timers
    assert_equal [:timeout], responses.map(&:error)
    assert Http::Request.instances.last.canceled
    assert_equal 0, transport.pending_count
    Http::Request.instances.last.answer(answer(200, '{}')) # a late answer is ignored
    assert_equal 1, responses.size
  end
end

class CaptureTest < Minitest::Test
  include HostTestHelpers

  def test_the_view_is_written_to_a_png_and_read_back
    view = Sketchup.active_model.active_view
    assert_equal @png, Host::Capture.png(view, 1024, 576)
    options = view.exports.last
    assert_equal [1024, 576, true, false], options.values_at(:width, :height, :antialias, :transparent)
    assert options[:filename].end_with?('.png')
    refute File.exist?(options[:filename]), 'the temporary file must be removed'
  end

  def test_a_failed_export_is_a_capture_error
    Sketchup.active_model.active_view.written = false
    error = assert_raises(Core::ApiError) { Host::Capture.png(Sketchup.active_model.active_view, 10, 10) }
    assert_equal :capture, error.kind
  end
end

class AppOfflineTest < Minitest::Test
  include HostTestHelpers

  JPEG = "\xFF\xD8\xFF\xE0 a tiny jpeg".b

  def offline_server
    Http::Request.handler = lambda do |request|
      case request.url
      when %r{/api/v1/styles\z} then vector_answer('styles')
      when %r{/api/v1/me\z} then vector_answer('me')
      when %r{/api/v1/renders\z} then vector_answer('render_done')
      when %r{/files/renders/} then answer(200, JPEG, 'Content-Type' => 'image/jpeg')
      else answer(404, '')
      end
    end
  end

  def test_without_a_key_the_panel_opens_on_settings
    app = Host::App.new
    app.show
    dialog.trigger('ready')
    state = dialog.last_state
    assert state['show_settings']
    assert_equal 'no_key', state['error']['kind']
    assert_empty Http::Request.instances, 'nothing is sent without a key'
  end

  def test_cost_and_balance_are_shown_before_the_click
    offline_server
    new_app
    dialog.trigger('ready')
    state = dialog.last_state
    balance = TdsTest.vector('me')['body']['credits']
    assert_equal({ 'cost' => 5, 'balance' => balance, 'ok' => true, 'text' => "5 credits · balance #{balance}" }, state['quote'])
    assert_equal 'architect@example.com', state['account']['email']
    assert_includes state['catalogue']['lighting'].map { |o| o['name'] }, 'Golden Hour'
    dialog.trigger('options_changed', '{"resolution":"2k","lighting":"Night"}')
    assert_equal 10, dialog.last_state['quote']['cost']
  end

  def test_a_click_renders_saves_next_to_the_model_and_places_the_image
    offline_server
    Sketchup.active_model.path = File.join(@dir, 'house.skp')
    app = new_app
    dialog.trigger('ready')
    dialog.trigger('render', '{"architectural_style":"Modern","prompt":"dusk"}')
    state = dialog.last_state
    assert_nil state['error']
    refute state['busy']
    path = state['result']['path']
    assert_equal @dir, File.dirname(path)
    assert_match(/\Ahouse-tds-\d{8}-\d{6}\.jpg\z/, File.basename(path))
    assert_equal JPEG, File.binread(path)
    assert_equal TdsTest.vector('render_done')['body']['credits'], state['account']['credits']
    image_updates = dialog.scripts.count { |s| s.include?('"image":"data:image/jpeg;base64,') }
    assert_equal 1, image_updates, 'the picture goes to the page once'

    post = Http::Request.instances.find { |r| r.url.end_with?('/api/v1/renders') }
    body = JSON.parse(post.body)
    assert_equal %w[sketchup Modern dusk 1k], body.values_at('source', 'architectural_style', 'prompt', 'resolution')
    assert_equal [1024, 576], Sketchup.active_model.active_view.exports.last.values_at(:width, :height)
    refute_nil post.headers['Idempotency-Key']

    dialog.trigger('place')
    assert_equal path, Sketchup.active_model.active_entities.images.last.first
    assert_equal [[:start, 'Place tds render'], [:commit]], Sketchup.active_model.operations
    dialog.trigger('open_folder')
    assert_equal "file:///#{@dir.sub(%r{\A/}, '')}", UI.opened_urls.last
    assert_equal path, app.result['path']
  end

  def test_the_project_is_kept_in_the_model_and_sent_with_its_renders
    offline_server
    Sketchup.active_model.path = File.join(@dir, 'house.skp')
    app = new_app
    dialog.trigger('ready')
    assert_nil dialog.last_state['settings']['project']
    dialog.trigger('render', '{"project":"  2026-017 Harbour Lofts "}')
    assert_nil dialog.last_state['error']
    assert_equal({ %w[tds_render project] => '2026-017 Harbour Lofts' }, Sketchup.active_model.attributes)
    posts = Http::Request.instances.select { |r| r.url.end_with?('/api/v1/renders') }
    assert_equal '2026-017 Harbour Lofts', JSON.parse(posts.last.body)['project']

    other = Sketchup::Model.new # another model becomes active: its own project (none)
    Sketchup.active_model = other
    other.active_view.png = @png
    dialog.trigger('ready')
    assert_nil dialog.last_state['settings']['project']
    dialog.trigger('render', '{}')
    refute JSON.parse(Http::Request.instances.select { |r| r.url.end_with?('/api/v1/renders') }.last.body).key?('project')
    assert_empty other.attributes, 'a model without a project gets no attribute'

    other.set_attribute('tds_render', 'project', 'Mill Street') # opened with one saved in it
    app.show
    assert_equal 'Mill Street', dialog.last_state['settings']['project']
    dialog.trigger('options_changed', '{"project":""}')
    assert_empty other.attributes, 'clearing the field removes it from the model'
  end

  def test_the_key_never_reaches_the_page_or_the_model
    offline_server
    Sketchup.active_model.path = File.join(@dir, 'house.skp')
    new_app(key: 'tds_live_do_not_leak')
    dialog.trigger('ready')
    dialog.trigger('render', '{}')
    refute(dialog.scripts.any? { |s| s.include?('tds_live_do_not_leak') })
    assert_empty Sketchup.active_model.attributes
  end

  def test_saving_settings_keeps_the_key_when_none_is_pasted
    offline_server
    app = new_app(key: 'tds_live_first')
    dialog.trigger('save_settings', '{"server_url":"https://other.example.com","api_key":"","place_in_model":true}')
    assert_equal 'tds_live_first', app.settings.api_key
    assert_equal 'https://other.example.com', Host::SettingsStore.new.load.server_url
    dialog.trigger('save_settings', '{"api_key":" tds_live_second "}')
    assert_equal 'tds_live_second', Host::SettingsStore.new.load.api_key
    assert(Http::Request.instances.any? { |r| r.url == 'https://other.example.com/api/v1/me' })
  end

  def test_an_unsaved_model_saves_to_the_fallback_folder
    offline_server
    home = Dir.home
    ENV['HOME'] = @dir
    new_app
    dialog.trigger('render', '{}')
    path = dialog.last_state['result']['path']
    assert_equal File.join(@dir, 'Documents', 'tds renders'), File.dirname(path)
  ensure
    ENV['HOME'] = home
  end

  def test_place_in_model_setting_places_every_render
    offline_server
    Sketchup.active_model.path = File.join(@dir, 'house.skp')
    store = Host::SettingsStore.new
    store.save(Core::Settings.new({ 'server_url' => 'https://render.example.com', 'place_in_model' => true }, 'k'))
    Host::App.new(store: store).show
    dialog.trigger('render', '{}')
    assert_equal 1, Sketchup.active_model.active_entities.images.size
  end

  def test_no_network_is_a_clear_message
    Http::Request.handler = ->(_) { answer(0, '') }
    Sketchup.active_model.path = File.join(@dir, 'house.skp')
    new_app
    dialog.trigger('render', '{}')
    UI.fire_timers while UI.timers.any? # the retries wait on timers
    state = dialog.last_state
    assert_equal 'network', state['error']['kind']
    assert_includes state['error']['message'], 'https://render.example.com'
    refute state['busy']
    assert_equal 3, Http::Request.instances.size
  end
end

class AppLiveTest < Minitest::Test
  include HostTestHelpers

  def setup
    super
    (@url, @key, @empty_key, image), missing = TdsTest.live_env
    skip "live tests need #{missing.join(', ')}" unless missing.empty?
    Sketchup.active_model.active_view.png = File.binread(image)
    Sketchup.active_model.path = File.join(@dir, 'villa.skp')
  end

  def test_a_real_render_through_the_sketchup_adapter
    new_app(key: @key, server: @url)
    dialog.trigger('ready')
    before = dialog.last_state
    assert before['quote']['ok'], before.inspect
    dialog.trigger('render', '{"architectural_style":"Scandinavian","lighting":"Overcast","project":"Villa 12"}')
    state = dialog.last_state
    assert_nil state['error'], state['error'].inspect
    assert_equal 'Villa 12', state['result']['project'], 'the server billed it to the project'
    assert_equal 'Villa 12', Sketchup.active_model.get_attribute('tds_render', 'project')
    assert_equal before['account']['credits'] - before['quote']['cost'], state['account']['credits']
    bytes = File.binread(state['result']['path'])
    assert_equal '.jpg', Core::Output.image_ext(bytes)
    assert_equal @dir, File.dirname(state['result']['path'])
  end

  def test_a_wrong_key_says_so
    new_app(key: 'tds_live_wrong', server: @url)
    dialog.trigger('ready')
    assert_equal 'invalid_key', dialog.last_state['error']['kind']
  end

  def test_no_credits_says_so_before_and_after_the_click
    new_app(key: @empty_key, server: @url)
    dialog.trigger('ready')
    refute dialog.last_state['quote']['ok']
    dialog.trigger('render', '{}')
    error = dialog.last_state['error']
    assert_equal 'no_credits', error['kind']
    assert_includes error['message'], '0 available'
  end
end
