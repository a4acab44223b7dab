# frozen_string_literal: true

require_relative 'test_helper'

# The core over real HTTP against a tds server: pytest (tests/plugins/test_sketchup.py) starts
# one on loopback and passes TDS_TEST_URL, TDS_TEST_KEY (an account with credits),
# TDS_TEST_EMPTY_KEY (one with none) and TDS_TEST_IMAGE (a PNG). Without them these skip.
class LiveTest < Minitest::Test
  Core = Tds::Render::Core

  def setup
    (@url, @key, @empty_key, image), missing = TdsTest.live_env
    skip "live tests need #{missing.join(', ')}" unless missing.empty?
    @png = File.binread(image)
    @settings = Core::Settings.new({ 'server_url' => @url, 'resolution' => '1k', 'architectural_style' => 'Modern',
                                     'lighting' => 'Golden Hour', 'prompt' => 'warm evening light' }, @key)
  end

  def client(key = @key, **options)
    Core::Client.new(server_url: @url, api_key: key, transport: TdsTest::NetHttpTransport.new,
                     scheduler: TdsTest::SLEEP_SCHEDULER, **options)
  end

  def call
    results = []
    yield(->(result) { results << result })
    assert_equal 1, results.size
    results.first
  end

  def balance
    call { |done| client.me(&done) }.value['credits']
  end

  def test_me_and_styles_give_balance_and_costs
    account = call { |done| client.me(&done) }
    assert account.ok?, account.error.inspect
    assert_kind_of Integer, account.value['credits']
    catalogue = call { |done| client.styles(&done) }.value
    assert_equal 5, catalogue.cost('render', '1k')
    assert_includes catalogue.lighting.map(&:name), 'Golden Hour'
  end

  def test_a_render_succeeds_and_downloads
    before = balance
    result = call { |done| client.render(@png, @settings, &done) }
    assert result.ok?, result.error.inspect
    render = result.value.render
    assert_equal %w[done sketchup Modern Golden\ Hour 1k], render.values_at('status', 'source', 'architectural_style', 'lighting', 'resolution')
    assert_equal before - render['credits_used'], result.value.credits
    image = call { |done| client.download(result.value.output_url, &done) }
    assert image.ok?, image.error.inspect
    assert_equal '.jpg', Core::Output.image_ext(image.value)
  end

  def test_a_render_past_the_wait_is_polled_to_the_end
    progress = []
    api = client(wait_seconds: 0, poll_interval: 0.1)
    result = call { |done| api.render(@png, @settings, on_progress: ->(info) { progress << info }, &done) }
    assert result.ok?, result.error.inspect
    assert_equal 'done', result.value.render['status']
    refute_empty progress, 'a 202 answer is followed by polls'
  end

  def test_the_same_idempotency_key_never_charges_twice
    key = Core::RenderRequest.idempotency_key
    first = call { |done| client.render(@png, @settings, idempotency_key: key, &done) }
    second = call { |done| client.render(@png, @settings, idempotency_key: key, &done) }
    assert_equal first.value.id, second.value.id
    assert_equal first.value.credits, balance
  end

  def test_a_wrong_key_is_invalid_key
    me = call { |done| client('tds_live_not_a_key').me(&done) }
    assert_equal :invalid_key, me.error.kind
    assert_equal 401, me.error.status
    render = call { |done| client('tds_live_not_a_key').render(@png, @settings, &done) }
    assert_equal :invalid_key, render.error.kind
  end

  def test_an_empty_account_is_no_credits
    result = call { |done| client(@empty_key).render(@png, @settings, &done) }
    assert_equal :no_credits, result.error.kind
    assert_equal 402, result.error.status
    assert_includes result.error.detail, '0 available'
  end

  def test_a_closed_port_is_no_connection
    server = TCPServer.new('127.0.0.1', 0)
    port = server.addr[1]
    server.close
    api = Core::Client.new(server_url: "http://127.0.0.1:#{port}", api_key: @key,
                           transport: TdsTest::NetHttpTransport.new, scheduler: ->(_s, &b) { b.call })
    result = call { |done| api.render(@png, @settings, &done) }
    assert_equal :network, result.error.kind
  end
end
