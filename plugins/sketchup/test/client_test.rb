# frozen_string_literal: true

require_relative 'test_helper'

# The asynchronous client over a fake transport: polling, retries, timeouts and errors.
class ClientTest < Minitest::Test
  Core = Tds::Render::Core
  URL = 'https://render.example.com'

  def setup
    @transport = TdsTest::FakeTransport.new
    @scheduler = TdsTest::ImmediateScheduler.new
    @now = 0.0
    @png = TdsTest.vector('render_request')['body']['image_base64'].unpack1('m0')
    @settings = Core::Settings.new({ 'architectural_style' => 'Modern' }, 'tds_live_key')
  end

  def client(**options)
    Core::Client.new(server_url: "#{URL}/", api_key: @settings.api_key, transport: @transport,
                     scheduler: @scheduler, clock: -> { @now }, **options)
  end

  def result_of
    results = []
    yield(->(result) { results << result })
    assert_equal 1, results.size, 'the callback must run exactly once'
    results.first
  end

  def render(api = client, **options)
    progress = []
    result = result_of { |done| api.render(@png, @settings, on_progress: ->(info) { progress << info }, **options, &done) }
    [result, progress]
  end

  def json(status, body, headers = {})
    Core::Response.new(status, headers, JSON.generate(body))
  end

  def queued(progress_value = 0)
    body = TdsTest.vector('render_queued')['body']
    body['render'] = body['render'].merge('status' => 'processing', 'progress' => { 'value' => progress_value, 'max' => 4 })
    json(200, body)
  end

  def test_me_and_styles
    @transport.push(TdsTest.vector_response('me'), TdsTest.vector_response('styles'))
    me = result_of { |done| client.me(&done) }
    assert_equal TdsTest.vector('me')['body']['credits'], me.value['credits']
    styles = result_of { |done| client.styles(&done) }
    assert_equal 10, styles.value.cost('render', '2k')
    assert_equal ["#{URL}/api/v1/me", "#{URL}/api/v1/styles"], @transport.requests.map(&:url)
    assert_equal 'Bearer tds_live_key', @transport.requests.first.headers['Authorization']
  end

  def test_a_done_answer_finishes_in_one_request
    @transport.push(TdsTest.vector_response('render_done'))
    result, progress = render
    assert result.ok?
    done = TdsTest.vector('render_done')['body']
    assert_equal done['render']['id'], result.value.id
    assert_equal done['credits'], result.value.credits
    assert_equal done['render']['output_image_url'], result.value.output_url
    assert_empty progress
    request = @transport.requests.first
    assert_equal :post, request.method
    assert_equal "#{URL}/api/v1/renders", request.url
    assert_equal 'wait=10', request.headers['Prefer']
    body = JSON.parse(request.body)
    assert_equal 'sketchup', body['source']
    assert_equal 'Modern', body['architectural_style']
  end

  def test_a_queued_render_is_polled_to_the_end_with_progress
    @transport.push(TdsTest.vector_response('render_queued'), queued(1), queued(3), TdsTest.vector_response('render_done'))
    result, progress = render
    assert result.ok?
    render_id = TdsTest.vector('render_queued')['body']['render']['id']
    assert_equal ["#{URL}/api/v1/renders/#{render_id}"] * 3, @transport.requests.drop(1).map(&:url)
    assert_equal %w[queued processing processing], progress.map { |p| p['status'] }
    assert_equal [nil, 0.25, 0.75], progress.map { |p| p['progress'] }
    assert_equal [1.5, 1.5, 1.5], @scheduler.delays
  end

  def test_a_render_that_fails_while_polled_reports_the_refund
    failed = TdsTest.vector('render_queued')['body']
    failed['render'] = failed['render'].merge('status' => 'failed', 'error' => { 'code' => 'model_failed', 'message' => 'Out of memory.' })
    @transport.push(TdsTest.vector_response('render_queued'), json(200, failed))
    result, = render
    assert_equal :render_failed, result.error.kind
    assert_includes result.error.detail, 'Out of memory. Your credits were refunded.'
    assert_equal failed['render']['id'], result.error.render_id
  end

  def test_a_canceled_render
    canceled = TdsTest.vector('render_queued')['body']
    canceled['render'] = canceled['render'].merge('status' => 'canceled')
    @transport.push(json(202, canceled))
    result, = render
    assert_equal :canceled, result.error.kind
  end

  def test_server_errors_are_retried_with_the_same_idempotency_key
    @transport.push(Core::Response.new(503, { 'Retry-After' => '2' }, '{"error":{"code":"model_unavailable","message":"Queue full."}}'),
                    Core::Response.failure(:network, 'ECONNRESET'),
                    TdsTest.vector_response('render_done'))
    result, progress = render
    assert result.ok?
    keys = @transport.requests.map { |r| r.headers['Idempotency-Key'] }
    assert_equal 3, keys.size
    assert_equal 1, keys.uniq.size
    assert_equal [2.0, 2], @scheduler.delays
    assert_equal %w[retrying retrying], progress.map { |p| p['status'] }
  end

  def test_retries_stop_after_max_retries
    3.times { @transport.push(Core::Response.new(500, {}, 'Internal Server Error')) }
    result, = render
    assert_equal :server, result.error.kind
    assert_includes result.error.detail, 'HTTP 500'
    assert_equal 3, @transport.requests.size
  end

  def test_a_timeout_is_retried_then_reported
    3.times { @transport.push(Core::Response.failure(:timeout)) }
    result, = render
    assert_equal :timeout, result.error.kind
    assert_includes result.error.detail, URL
    assert_includes result.error.detail, '90 s'
  end

  def test_a_long_retry_after_is_shown_not_waited_for
    @transport.push(TdsTest.vector_response('error_429'))
    result, = render
    assert_equal :rate_limited, result.error.kind
    assert_includes result.error.message, '60 s'
    assert_empty @scheduler.delays
  end

  def test_a_short_retry_after_is_waited_for
    @transport.push(Core::Response.new(429, { 'retry-after' => '1' }, JSON.generate(TdsTest.vector('error_429')['body'])),
                    TdsTest.vector_response('render_done'))
    result, = render
    assert result.ok?
    assert_equal [1.0], @scheduler.delays
  end

  def test_errors_that_retrying_cannot_fix_are_reported_at_once
    %w[error_401 error_402 error_400].each do |name|
      @transport.push(TdsTest.vector_response(name))
      result, = render
      assert_equal({ 'error_401' => :invalid_key, 'error_402' => :no_credits, 'error_400' => :bad_request }[name], result.error.kind)
    end
    assert_equal 3, @transport.requests.size
  end

  def test_without_a_key_nothing_is_sent
    @settings.api_key = ''
    result, = render(client)
    assert_equal :no_key, result.error.kind
    assert_equal :no_key, result_of { |done| client.me(&done) }.error.kind
    assert_empty @transport.requests
  end

  def test_polling_stops_at_the_deadline
    @transport.push(TdsTest.vector_response('render_queued'), lambda { |_|
      @now = 1000.0
      queued(1)
    })
    result, = render(client(max_poll_seconds: 900))
    assert_equal :still_running, result.error.kind
    assert_includes result.error.detail, 'still running'
  end

  def test_a_failed_poll_is_tolerated
    @transport.push(TdsTest.vector_response('render_queued'), Core::Response.failure(:network),
                    Core::Response.new(502, {}, '<html>Bad Gateway</html>'), TdsTest.vector_response('render_done'))
    result, = render
    assert result.ok?
  end

  def test_too_many_failed_polls_give_up
    @transport.push(TdsTest.vector_response('render_queued'), *Array.new(3) { Core::Response.failure(:network) })
    result, = render
    assert_equal :network, result.error.kind
  end

  def test_an_answer_that_is_not_from_tds
    @transport.push(Core::Response.new(200, {}, '<html>captive portal</html>'))
    result, = render
    assert_equal :bad_response, result.error.kind
    @transport.push(Core::Response.new(200, {}, '[]'))
    assert_equal :bad_response, result_of { |done| client.me(&done) }.error.kind
  end

  def test_download_sends_the_key_only_to_the_api_host
    jpeg = "\xFF\xD8\xFF\xE0rest".b
    @transport.push(Core::Response.new(200, {}, jpeg), Core::Response.new(200, {}, jpeg))
    assert_equal jpeg, result_of { |done| client.download("#{URL}/files/renders/a.jpg", &done) }.value
    assert_equal jpeg, result_of { |done| client.download('https://cdn.example.net/a.jpg', &done) }.value
    first, second = @transport.requests
    assert_equal 'Bearer tds_live_key', first.headers['Authorization']
    refute second.headers.key?('Authorization')
  end

  def test_download_refuses_what_is_not_an_image
    @transport.push(Core::Response.new(200, {}, '<html>'), Core::Response.new(404, {}, ''))
    assert_equal :bad_response, result_of { |done| client.download("#{URL}/x", &done) }.error.kind
    assert_equal :not_found, result_of { |done| client.download("#{URL}/x", &done) }.error.kind
  end

  def test_cancel
    @transport.push(json(200, TdsTest.vector('render_queued')['body']))
    result = result_of { |done| client.cancel('rnd_1', &done) }
    assert result.ok?
    assert_equal [:post, "#{URL}/api/v1/renders/rnd_1/cancel"], [@transport.requests.last.method, @transport.requests.last.url]
  end

  def test_unknown_options_are_refused
    assert_raises(ArgumentError) { client(wait: 3) }
  end
end
